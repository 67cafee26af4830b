#!/usr/bin/env bash
# Interop run: the Python reference application (FreeV2G) against `freev2g module-sim` over a
# veth pair between two private network namespaces (nothing leaves this machine).
#
#   sudo scripts/interop-python.sh <FreeV2G checkout> [EVSE|EV|both]
#
# EVSE: module-sim serves the EVSE module (WHITE-beet-EI) and drives the EV side with this
#       project's EV station; the reference runs `Application.py eth -r EVSE` as the EVSE host.
# EV:   module-sim serves the EV module (WHITE-beet-PI) and drives the EVSE side with this
#       project's EVSE station; the reference runs `Application.py eth -r EV` as the EV host.
#
# Needs root, iproute2, node (this checkout's node_modules) and Debian's python3-scapy
# (/usr/bin/python3). The reference is run unchanged through scripts/interop/reference-wrapper.py
# (stand-in for pylibpcap, automatic "yes" to the authorization prompt).
# Not part of `npm test`: CI has no copy of the reference. See docs/interop-python-reference.md.
#
# Environment: OUT (log folder, default a fresh /tmp/fv2g-interop.XXXX), TIMEOUT (seconds per
# run, default 300), PYTHON (default /usr/bin/python3), MODE (dc or ac: the energy transfer mode
# the car asks for, default dc).
set -euo pipefail

REF=${1:?usage: $0 <FreeV2G checkout> [EVSE|EV|both]}
ROLES=${2:-both}
[[ $ROLES == both ]] && ROLES="EVSE EV"
REF=$(cd "$REF" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
TIMEOUT=${TIMEOUT:-300}
OUT=${OUT:-$(mktemp -d /tmp/fv2g-interop.XXXX)}
MODE=${MODE:-dc}
case $MODE in
  dc) EV_MODES='["dc_core"]'; EVSE_MODES='["dc_core"]'; REF_MODE=0 ;;
  ac) EV_MODES='["ac_single_phase"]'; EVSE_MODES='["ac_single_phase"]'; REF_MODE=4 ;;
  *) echo "MODE must be dc or ac" >&2; exit 2 ;;
esac
mkdir -p "$OUT"

[[ -f $REF/Application.py ]] || { echo "$REF: no Application.py (not a FreeV2G checkout)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces, raw sockets)" >&2; exit 2; }
"$PYTHON" -c 'import scapy.all' 2>/dev/null || { echo "$PYTHON cannot import scapy: apt-get install -y python3-scapy" >&2; exit 2; }

TAG=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS_MOD=fv2gi-$TAG-mod
NS_HOST=fv2gi-$TAG-host
IF_MOD=fv2gmod
IF_HOST=fv2ghost
MAC_MOD=02:f2:00:00:10:01
MAC_HOST=02:f2:00:00:10:02
SIM_PID=""

cleanup() {
  if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then kill -KILL "$SIM_PID" 2>/dev/null || true; fi
  ip netns del "$NS_MOD" 2>/dev/null || true
  ip netns del "$NS_HOST" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NS_MOD"
ip netns add "$NS_HOST"
ip -n "$NS_MOD" link add "$IF_MOD" type veth peer name "$IF_HOST" netns "$NS_HOST"
ip -n "$NS_MOD" link set "$IF_MOD" address "$MAC_MOD"
ip -n "$NS_HOST" link set "$IF_HOST" address "$MAC_HOST"
for pair in "$NS_MOD $IF_MOD" "$NS_HOST $IF_HOST"; do
  set -- $pair
  ip -n "$1" link set "$2" up
  # No IPv6 chatter on the link: every frame counted below is HCI.
  ip netns exec "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1" || true
done
for _ in $(seq 50); do
  [[ $(ip netns exec "$NS_HOST" cat /sys/class/net/$IF_HOST/operstate) == up ]] && break
  sleep 0.1
done

# The EV side in EVSE runs is this project's EV station (config/ev.json); its battery starts
# just below its 95 % target so a session takes well under a minute of charging; its AC limits
# are those of the reference's ev.json (config/ev.json keeps the reference's 0 A / 0 V defaults,
# with which an EV refuses every AC offer). The scenario
# gives the simulated car module the same battery, so its "charging complete" flag agrees.
cat > "$OUT/scenario.json" <<'JSON'
{
  "name": "interop-python",
  "description": "Interop with the Python reference: the car's battery as config/ev.json (50 kWh, charging complete at 95 %).",
  "ev": { "battery": { "capacityWh": 50000, "socTargetPercent": 95 } }
}
JSON
# The reference's EV (-r EV): its battery 99.6 % full (Battery.py default 98 %), one mode; for
# AC its own ev.json limits (with the Battery.py defaults, 0 A / 0 V and 12 kW, it refuses the
# 25 kW schedule and every AC offer and stops the session before charging).
if [[ $MODE == dc ]]; then REF_BATTERY='"level": 49800'
else REF_BATTERY='"level": 49800, "max_power": 40000, "max_current_AC": 150, "max_voltage_AC": 400, "min_current_AC": 0'; fi
cat > "$OUT/reference-ev.json" <<JSON
{
  "ev": { "energy_transfer_mode": [$REF_MODE], "energy_transfer_mode_count": 1 },
  "battery": { $REF_BATTERY }
}
JSON

stat_of() { ip netns exec "$NS_HOST" cat "/sys/class/net/$IF_HOST/statistics/$1"; }

run_role() {
  local role=$1 log_sim=$OUT/module-sim-$1.log log_ref=$OUT/reference-$1.log
  echo "== $role ($MODE): module-sim --role $role on $NS_MOD/$IF_MOD ($MAC_MOD); reference -r $role on $NS_HOST/$IF_HOST"
  (cd "$ROOT" && FREEV2G_EV__BATTERY__LEVEL=${FREEV2G_EV__BATTERY__LEVEL:-47400} \
    FREEV2G_EV__CONFIGURATION__ENERGY_TRANSFER_MODE=$EV_MODES \
    FREEV2G_EV__BATTERY__MAX_CURRENT_AC=150 FREEV2G_EV__BATTERY__MAX_VOLTAGE_AC=400 \
    FREEV2G_EVSE__CONFIGURATION__ENERGY_TRANSFER_MODE=$EVSE_MODES exec ip netns exec "$NS_MOD" \
    node bin/freev2g.js module-sim --role "$role" --iface "$IF_MOD" --mac "$MAC_MOD" --scenario "$OUT/scenario.json") \
    >"$log_sim" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 100); do grep -q '^module-sim: simulated' "$log_sim" && break; sleep 0.2; done
  grep -q '^module-sim: simulated' "$log_sim" || { cat "$log_sim"; echo "module-sim did not start" >&2; return 1; }

  local extra=()
  [[ $role == EV ]] && extra=(-c "$OUT/reference-ev.json")
  local rc=0 rx0 tx0 t0 t1
  rx0=$(stat_of rx_packets); tx0=$(stat_of tx_packets); t0=$(date +%s.%N)
  FV2G_TIMESTAMPS=1 timeout "$TIMEOUT" ip netns exec "$NS_HOST" "$PYTHON" -u "$ROOT/scripts/interop/reference-wrapper.py" \
    "$REF" eth -i "$IF_HOST" -m "$MAC_MOD" -r "$role" "${extra[@]}" >"$log_ref" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  local rx=$(($(stat_of rx_packets) - rx0)) tx=$(($(stat_of tx_packets) - tx0))

  kill -INT "$SIM_PID" 2>/dev/null || true
  # module-sim prints its summary on SIGINT; a pcap session can keep node alive after that.
  for _ in $(seq 30); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  SIM_PID=""

  local started stopped
  started=$(grep -m1 -oiE '^\[ *[0-9.]+\] "Session started" received' "$log_ref" | grep -oE '[0-9]+\.[0-9]+' || true)
  stopped=$(grep -m1 -oiE '^\[ *[0-9.]+\] "Session stopped" received' "$log_ref" | grep -oE '[0-9]+\.[0-9]+' || true)
  printf '   reference exit code %s, wall time %.1f s\n' "$rc" "$(echo "$t1 - $t0" | bc)"
  printf '   HCI frames on the link: %s host->module, %s module->host\n' "$tx" "$rx"
  if [[ -n $started && -n $stopped ]]; then
    printf '   V2G session (Session started -> Session stopped at the reference): %.1f s\n' "$(echo "$stopped - $started" | bc)"
  fi
  echo "   logs: $log_ref, $log_sim"
  # Success: the car charged, the session stopped without a Session Error, the loop ended.
  local ok=1
  grep -qiE '"(Charging Started|Start Charging Requested)" received' "$log_ref" || ok=0
  grep -qi '"Session stopped" received' "$log_ref" || ok=0
  if grep -qi '"Session Error" received' "$log_ref"; then ok=0; fi
  grep -qE '(EVSE|EV) loop finished' "$log_ref" || ok=0
  [[ $rc == 0 ]] || ok=0
  if [[ $ok == 1 ]]; then echo "   RESULT $role: full session and clean stop"; else echo "   RESULT $role: FAILED (see logs)"; return 1; fi
}

status=0
for role in $ROLES; do run_role "$role" || status=1; done
exit $status
