/**
 * The V2G module (chapter 18): Set/Get Mode (18.8) shared by both firmwares, plus the role's
 * own commands. A WHITE-beet-EI is an EVSE and a WHITE-beet-PI an EV: Set Mode to the other
 * role answers 0x05 (18.8.1: "if only one of the modes is supported").
 */
import { ResultCode } from '../../codec/message.js';
import { type ModuleContext, type Service, fail, ok } from '../module.js';
import { createV2gEvService } from './v2g-ev.js';
import { createV2gEvseService } from './v2g-evse.js';

/** 18.8.2: 2 = "undefined" until Set Mode. */
const UNDEFINED_MODE = 2;

export function createV2gService(ctx: ModuleContext): Service {
  let mode = UNDEFINED_MODE;
  const common = { mode: () => mode, setMode: (m: number) => (mode = m) };
  const inner = ctx.role === 'EV' ? createV2gEvService(ctx, common) : createV2gEvseService(ctx, common);
  const own = ctx.role === 'EV' ? 0 : 1;
  return {
    module: 'V2g',
    handlers: {
      ...inner.handlers,
      SetMode: (m) => {
        if (m.fields.mode !== own) return fail(ResultCode.unexpectedMessage);
        mode = own;
        return ok();
      },
      GetMode: () => ok({ mode }),
    },
    reset() {
      inner.reset();
      mode = UNDEFINED_MODE;
    },
    close() {
      inner.close?.();
    },
  };
}
