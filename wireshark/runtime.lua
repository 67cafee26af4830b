-- The fixed part of the dissector: it reads the tables above (MODULES, MESSAGES, ...), which
-- app/dissector.ts generates from codec/catalog.ts. Wireshark 3.6+ (Lua 5.2+).

local proto = Proto("whitebeet", "WHITE-beet HCI")

local f = {
  ctl_version = ProtoField.uint8("whitebeet.control.version", "Control header version", base.HEX),
  ctl_type = ProtoField.uint8("whitebeet.control.type", "Control message type", base.HEX),
  ctl_size = ProtoField.uint16("whitebeet.control.size", "Control payload size", base.DEC),
  frame = ProtoField.bytes("whitebeet.frame", "HCI frame"),
  start = ProtoField.uint8("whitebeet.start", "Start", base.HEX),
  mod_id = ProtoField.uint8("whitebeet.mod_id", "Module ID", base.HEX),
  sub_id = ProtoField.uint8("whitebeet.sub_id", "Sub-ID", base.HEX),
  req_id = ProtoField.uint8("whitebeet.req_id", "Request ID", base.HEX),
  size = ProtoField.uint16("whitebeet.size", "Payload size", base.DEC),
  payload = ProtoField.bytes("whitebeet.payload", "Payload"),
  checksum = ProtoField.uint8("whitebeet.checksum", "Checksum", base.HEX),
  checksum_status = ProtoField.string("whitebeet.checksum.status", "Checksum status"),
  stop = ProtoField.uint8("whitebeet.end", "End", base.HEX),
  module = ProtoField.string("whitebeet.module", "Module"),
  message = ProtoField.string("whitebeet.message", "Message"),
  direction = ProtoField.string("whitebeet.direction", "Direction"),
  section = ProtoField.string("whitebeet.section", "Manual section"),
  code = ProtoField.string("whitebeet.result_code", "Result code"),
  field = ProtoField.string("whitebeet.field", "Field"),
  request_in = ProtoField.framenum("whitebeet.request_in", "Request in", base.NONE, frametype.REQUEST),
  response_in = ProtoField.framenum("whitebeet.response_in", "Response in", base.NONE, frametype.RESPONSE),
}
local pf = {}
for _, v in pairs(f) do pf[#pf + 1] = v end
proto.fields = pf

local ex = {
  checksum = ProtoExpert.new("whitebeet.checksum.bad", "Bad checksum", expert.group.CHECKSUM, expert.severity.ERROR),
  framing = ProtoExpert.new("whitebeet.framing", "Framing error", expert.group.MALFORMED, expert.severity.ERROR),
  unknown = ProtoExpert.new("whitebeet.unknown", "Unknown module or Sub-ID", expert.group.UNDECODED, expert.severity.WARN),
  payload = ProtoExpert.new("whitebeet.payload.mismatch", "Payload does not match the message layout", expert.group.PROTOCOL, expert.severity.WARN),
  control = ProtoExpert.new("whitebeet.control.unexpected", "Not a framing control frame", expert.group.PROTOCOL, expert.severity.WARN),
}
proto.experts = { ex.checksum, ex.framing, ex.unknown, ex.payload, ex.control }

-- Checksum of manual 10.1.4: ones' complement of the ones' complement sum of every byte but the
-- checksum itself; a result of 0 is sent as 0xFF.
local function checksum(tvb, from, len, skip)
  local sum = 0
  for i = from, from + len - 1 do
    if i ~= skip then sum = sum + tvb(i, 1):uint() end
  end
  sum = (sum % 65536) + math.floor(sum / 65536)
  sum = (sum % 256) + math.floor(sum / 256)
  sum = (sum % 256) + math.floor(sum / 256)
  if sum == 255 then return 255 end
  return 255 - sum
end

local read

local function int_text(range, w)
  local v
  if w.size == 8 then
    v = w.signed and range:int64() or range:uint64()
    return tostring(v)
  end
  v = w.signed and range:int() or range:uint()
  if w.names and w.names[v] then return w.names[v] .. " (" .. v .. ")" end
  return tostring(v)
end

local function prefix_len(tvb, pos, limit, len)
  if len == "u8" then
    if pos + 1 > limit then return nil end
    return tvb(pos, 1):uint(), 1
  elseif len == "u16" then
    if pos + 2 > limit then return nil end
    return tvb(pos, 2):uint(), 2
  elseif len == "rest" then
    return limit - pos, 0
  end
  return len, 0
end

local function leaf(tree, range, name, text)
  tree:add(f.field, range, name .. "=" .. text):set_text(name .. ": " .. text)
end

-- Reads one value of layout `w` at `pos` (payload ends at `limit`); adds it to `tree`.
-- Returns the position after it, or nil and why it did not fit.
read = function(tvb, pos, limit, w, tree, name)
  if w.w == "int" then
    if pos + w.size > limit then return nil, name .. ": short" end
    leaf(tree, tvb(pos, w.size), name, int_text(tvb(pos, w.size), w))
    return pos + w.size
  elseif w.w == "bool" or w.w == "const" then
    if pos + 1 > limit then return nil, name .. ": short" end
    local v = tvb(pos, 1):uint()
    if w.w == "bool" and v > 1 then return nil, name .. ": boolean byte " .. v end
    if w.w == "const" and v ~= w.value then return nil, name .. ": expected " .. w.value .. ", got " .. v end
    leaf(tree, tvb(pos, 1), name, w.w == "bool" and tostring(v == 1) or string.format("0x%02x", v))
    return pos + 1
  elseif w.w == "exp" then
    if pos + 3 > limit then return nil, name .. ": short" end
    local value, exponent = tvb(pos, 2):int(), tvb(pos + 2, 1):int()
    leaf(tree, tvb(pos, 3), name, string.format("%g (%d x 10^%d)", value * 10 ^ exponent, value, exponent))
    return pos + 3
  elseif w.w == "bytes" then
    local n, skip = prefix_len(tvb, pos, limit, w.len)
    if n == nil or pos + skip + n > limit then return nil, name .. ": short" end
    local text = "(empty)"
    if n > 0 then
      local r = tvb(pos + skip, n)
      if w.text then text = '"' .. r:string():gsub("%z+$", "") .. '"' else text = r:bytes():tohex() end
    end
    leaf(tree, tvb(pos, skip + n), name, text)
    return pos + skip + n
  elseif w.w == "array" then
    local n, skip = 0, 0
    if w.len ~= "rest" then
      n, skip = prefix_len(tvb, pos, limit, w.len)
      if n == nil then return nil, name .. ": short" end
    end
    local sub = tree:add(proto, tvb(pos, math.max(limit - pos, 0)), name)
    local at, i = pos + skip, 0
    while (w.len == "rest" and at < limit) or (w.len ~= "rest" and i < n) do
      local err
      at, err = read(tvb, at, limit, w.item, sub, name .. "[" .. i .. "]")
      if at == nil then return nil, err end
      i = i + 1
    end
    sub:set_len(at - pos)
    sub:set_text(name .. " [" .. i .. "]")
    return at
  elseif w.w == "optional" then
    if w.presence == "trailing" then
      if pos >= limit then return pos end
      return read(tvb, pos, limit, w.item, tree, name)
    end
    if pos + 1 > limit then return nil, name .. ": short" end
    local flag = tvb(pos, 1):uint()
    if flag == 0 then
      leaf(tree, tvb(pos, 1), name, "(absent)")
      return pos + 1
    end
    if flag ~= 1 then return nil, name .. ": presence byte " .. flag end
    return read(tvb, pos + 1, limit, w.item, tree, name)
  elseif w.w == "struct" then
    local sub = tree
    if name ~= "" then sub = tree:add(proto, tvb(pos, math.max(limit - pos, 0)), name) end
    local at = pos
    for _, fw in ipairs(w.fields) do
      local err
      at, err = read(tvb, at, limit, fw[2], sub, name == "" and fw[1] or (name .. "." .. fw[1]))
      if at == nil then return nil, err end
    end
    if name ~= "" then sub:set_len(at - pos) end
    return at
  end
  return nil, name .. ": unknown layout " .. tostring(w.w)
end

local function result_code_name(module, code)
  local own = MODULE_RESULT_CODES[module]
  if own and own[code] then return own[code] end
  return RESULT_CODES[code] or string.format("code0x%02x", code)
end

-- Direction and request/response pairs, worked out on the first pass in frame order, as
-- `freev2g decode --pcap` does (app/commands/decode.ts DirectionGuesser): a frame answering an
-- earlier one with the same module, Sub-ID and request ID from the other address is a response;
-- status messages (request ID 0xFF, Sub-ID >= 0x80) come from a module; an address known to be
-- a module's sends to the host.
local state = { modules = {}, open = {}, frames = {} }

function proto.init()
  state = { modules = {}, open = {}, frames = {} }
end

local function guess(pinfo, mod_id, sub_id, req_id)
  local known = state.frames[pinfo.number]
  if known then return known end
  local src, dst = tostring(pinfo.dl_src), tostring(pinfo.dl_dst)
  local a, b = src, dst
  if b < a then a, b = b, a end
  local key = mod_id .. "/" .. sub_id .. "/" .. req_id .. "/" .. a .. "-" .. b
  local asker = state.open[key]
  local to_host
  if asker and asker.src == dst then to_host = true
  elseif state.modules[src] then to_host = true
  elseif state.modules[dst] then to_host = false
  else to_host = req_id == 0xff and sub_id >= 0x80 end
  local info = { to_host = to_host }
  if to_host then
    state.modules[src] = true
    if asker and asker.src == dst then
      state.open[key] = nil
      info.request_in = asker.frame
      local req = state.frames[asker.frame]
      if req then req.response_in = pinfo.number end
    end
  else
    state.open[key] = { src = src, frame = pinfo.number }
  end
  state.frames[pinfo.number] = info
  return info
end

-- One HCI frame at `pos` (manual chapter 10). Returns the position after it and a summary, or
-- nil when the bytes do not hold a frame.
local function dissect_frame(tvb, pinfo, tree, pos, limit, dir)
  if tvb(pos, 1):uint() ~= 0xc0 then
    tree:add_proto_expert_info(ex.framing, string.format("no start byte 0xC0 at offset %d", pos))
    return nil
  end
  if limit - pos < 8 then
    tree:add_proto_expert_info(ex.framing, "frame shorter than its 8-byte overhead")
    return nil
  end
  local size = tvb(pos + 4, 2):uint()
  local total = size + 8
  if pos + total > limit then
    tree:add_proto_expert_info(ex.framing, string.format("size field says %d payload bytes, %d follow", size, limit - pos - 8))
    return nil
  end
  local mod_id, sub_id, req_id = tvb(pos + 1, 1):uint(), tvb(pos + 2, 1):uint(), tvb(pos + 3, 1):uint()
  local def = MESSAGES[mod_id * 256 + sub_id]
  local module = MODULES[mod_id] or string.format("0x%02x", mod_id)
  local name = def and def.name or string.format("0x%02x", sub_id)
  local direction = "request"
  if def and def.kind == "status" then direction = "status"
  elseif dir.to_host then direction = "response" end

  local t = tree:add(f.frame, tvb(pos, total))
  t:set_text(string.format("%s.%s %s (request ID 0x%02x)", module, name, direction, req_id))
  t:add(f.start, tvb(pos, 1))
  t:add(f.mod_id, tvb(pos + 1, 1)):append_text(" (" .. module .. ")")
  t:add(f.sub_id, tvb(pos + 2, 1)):append_text(" (" .. name .. ")")
  t:add(f.req_id, tvb(pos + 3, 1))
  t:add(f.size, tvb(pos + 4, 2))
  t:add(f.module, tvb(pos + 1, 1), module)
  t:add(f.message, tvb(pos + 2, 1), name)
  t:add(f.direction, tvb(pos + 3, 1), direction)
  if dir.request_in then t:add(f.request_in, dir.request_in) end
  if dir.response_in then t:add(f.response_in, dir.response_in) end

  local body = pos + 6
  if size > 0 then
    local pt = t:add(f.payload, tvb(body, size))
    if not def then
      pt:add_proto_expert_info(ex.unknown, MODULES[mod_id] and (module .. " has no Sub-ID " .. name) or ("no module " .. module))
    else
      pt:add(f.section, tvb(body, size), def.section)
      local at, err = body, nil
      local layout = def.payload
      if direction == "request" then layout = def.request
      elseif direction == "response" then
        local code = tvb(body, 1):uint()
        pt:add(f.code, tvb(body, 1), result_code_name(def.module, code)):set_text(string.format("code: %s (0x%02x)", result_code_name(def.module, code), code))
        at = body + 1
        layout = (code == 0 or size > 1) and def.response or nil
      end
      if layout then at, err = read(tvb, at, body + size, layout, pt, "") end
      if at == nil then
        pt:add_proto_expert_info(ex.payload, def.module .. "." .. def.name .. ": " .. err)
      elseif at ~= body + size then
        pt:add_proto_expert_info(ex.payload, string.format("%s.%s: %d byte(s) after the last field", def.module, def.name, body + size - at))
      end
    end
  elseif direction == "response" then
    t:add_proto_expert_info(ex.payload, "response has no result code")
  end

  local ck_at = body + size
  local ck = tvb(ck_at, 1):uint()
  local ck_item = t:add(f.checksum, tvb(ck_at, 1))
  if ck == 0 then
    t:add(f.checksum_status, tvb(ck_at, 1), "not computed")
  else
    local want = checksum(tvb, pos, total, ck_at)
    if want == ck then
      t:add(f.checksum_status, tvb(ck_at, 1), "good")
    else
      t:add(f.checksum_status, tvb(ck_at, 1), "bad")
      ck_item:add_proto_expert_info(ex.checksum, string.format("checksum 0x%02x, computed 0x%02x", ck, want))
    end
  end
  local end_item = t:add(f.stop, tvb(ck_at + 1, 1))
  if tvb(ck_at + 1, 1):uint() ~= 0xc1 then end_item:add_proto_expert_info(ex.framing, "no end byte 0xC1") end
  return pos + total, module .. "." .. name .. " " .. direction
end

function proto.dissector(tvb, pinfo, tree)
  if tvb:len() < 4 then return 0 end
  pinfo.cols.protocol = "WHITE-beet"
  local root = tree:add(proto, tvb())
  root:add(f.ctl_version, tvb(0, 1))
  root:add(f.ctl_type, tvb(1, 1))
  root:add(f.ctl_size, tvb(2, 2))
  local size = tvb(2, 2):uint()
  -- Manual 9.1.2: version 0x00, message type 0x04 (framing); other types carry no HCI frame.
  if tvb(0, 1):uint() ~= 0 or tvb(1, 1):uint() ~= 4 or 4 + size > tvb:len() then
    root:add_proto_expert_info(ex.control, string.format("control header %02x %02x, size %d of %d", tvb(0, 1):uint(), tvb(1, 1):uint(), size, tvb:len() - 4))
    pinfo.cols.info = "WHITE-beet control frame"
    return tvb:len()
  end
  root:set_len(4 + size)
  local limit = 4 + size
  if size < 4 then
    root:add_proto_expert_info(ex.framing, "no HCI frame in the control payload")
    return tvb:len()
  end
  local dir = guess(pinfo, tvb(5, 1):uint(), tvb(6, 1):uint(), tvb(7, 1):uint())
  local pos, infos = 4, {}
  while pos < limit do
    local nextpos, info = dissect_frame(tvb, pinfo, root, pos, limit, dir)
    if not nextpos then break end
    infos[#infos + 1] = info
    pos = nextpos
  end
  pinfo.cols.info = table.concat(infos, "; ")
  -- What follows the control payload is Ethernet padding.
  return tvb:len()
end

DissectorTable.get("ethertype"):add(0x6003, proto)
