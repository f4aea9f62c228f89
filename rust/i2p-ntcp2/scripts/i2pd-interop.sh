#!/bin/sh
# Interop check of the responder (Bob) role against a local i2pd 2.45.1, on loopback
# only. i2pd learns our RouterInfo (a floodfill with an NTCP2 address on 127.0.0.1)
# from its netDb directory and connects to us as Alice; the example accepts the
# session, prints the I2NP messages i2pd sends, sends a DeliveryStatus and a DateTime,
# and terminates after 10 s. i2pd's debug log shows how it parsed our blocks.
#
# Safety: reseed URLs point at 127.0.0.1:9 (refused), UPnP, NTP, SSU2 and all client
# services are off, so nothing leaves the machine.
set -eu
I2PD=${I2PD:-/usr/sbin/i2pd}
ROOT=$(mktemp -d /tmp/i2pd-ntcp2-interop.XXXXXX)
PORT_I2PD=${PORT_I2PD:-29111}
PORT_US=${PORT_US:-29200}
mkdir -p "$ROOT/data/netDb" "$ROOT/tunnels.d"
for c in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 - '~'; do
  mkdir -p "$ROOT/data/netDb/r$c"
done
echo "reservedrange = false" > "$ROOT/i2pd.conf"
: > "$ROOT/tunnels.conf"
cd "$(dirname "$0")/../../.."
cargo build -q -p i2p-ntcp2 --example i2pd_interop
NTCP2_CAPTURE="$ROOT/capture.txt" ./target/debug/examples/i2pd_interop listen "127.0.0.1:$PORT_US" "$ROOT/data" 2> "$ROOT/listen.log" &
LISTEN=$!
sleep 1
"$I2PD" --datadir="$ROOT/data" --conf="$ROOT/i2pd.conf" \
  --tunconf="$ROOT/tunnels.conf" --tunnelsdir="$ROOT/tunnels.d" \
  --log=file --logfile="$ROOT/i2pd.log" --loglevel=debug \
  --host=127.0.0.1 --ipv4 --port="$PORT_I2PD" \
  --ntcp2.enabled=true --ntcp2.published=true --ntcp2.port="$PORT_I2PD" \
  --ssu2.enabled=false --upnp.enabled=false --nettime.enabled=false \
  --reseed.urls=https://127.0.0.1:9/ --reseed.yggurls=http://127.0.0.1:9/ \
  --http.enabled=false --httpproxy.enabled=false --socksproxy.enabled=false \
  --sam.enabled=false --bob.enabled=false --i2cp.enabled=false --i2pcontrol.enabled=false \
  --addressbook.enabled=false > "$ROOT/i2pd.stdout" 2>&1 &
I2PD_PID=$!
wait "$LISTEN" || true
sleep 1
kill "$I2PD_PID" 2>/dev/null || true
wait "$I2PD_PID" 2>/dev/null || true
cat "$ROOT/listen.log"
echo "--- captured message 1 (test vector): $ROOT/capture.txt"
echo "--- i2pd's view of our frames:"
grep -E "NTCP2: (Block type|I2NP|Datetime|Termination|SessionCreated|SessionConfirmed)" "$ROOT/i2pd.log" | head -20
grep -q "SessionConfirmed, RI" "$ROOT/listen.log" && grep -q "NTCP2: Datetime" "$ROOT/i2pd.log" && echo "interop: 1 passed, 0 failed"
