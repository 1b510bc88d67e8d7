#!/usr/bin/env bash
# Runs the singyeong benchmarks of docs/BENCHMARKS.md side by side with NATS (when
# nats-server is installed: apt-get install -y nats-server), then the durable queue benchmarks.
# Every server listens on 127.0.0.1 only and is stopped at the end.
# "cluster" runs a 3-node cluster and compares routed SEND with sender and receivers on the same
# node and on different nodes, then runs the queue benchmark with its clients on the queue
# leader and on a follower.
# Usage: bash bench/singyeong/run.sh [duration] [send|queue|cluster|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-10s}
what=${2:-all}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

echo "# $(date -u +%FT%TZ) $(uname -srm), nproc $(nproc), $(free -g | awk '/Mem:/{print $2" GiB RAM"}'), $(go version | cut -d' ' -f3)"
go build -o "$out/singyeong" ./cmd/singyeong
go build -o "$out/bench" ./bench/singyeong

if [ "$what" = send ] || [ "$what" = all ]; then
  echo "## go test -run '^\$' -bench . -benchmem ./bus/query/"
  go test -run '^$' -bench . -benchmem ./bus/query/ | grep -E '^Benchmark'

  for window in 8 512; do
    "$out/singyeong" serve --addr 127.0.0.1:14567 --data-dir "$out/data" --log-level warn &
    pid=$!
    until curl -sf http://127.0.0.1:14567/healthz >/dev/null; do sleep 0.1; done
    echo "## singyeong, window $window: bench --server http://127.0.0.1:14567 --server-pid PID --clients 1000 --duration $duration --window $window"
    "$out/bench" --server http://127.0.0.1:14567 --server-pid "$pid" --clients 1000 --duration "$duration" --window "$window"
    kill "$pid"; wait "$pid" || true

    if command -v nats-server >/dev/null; then
      nats-server -a 127.0.0.1 -p 14222 >/dev/null 2>&1 &
      pid=$!
      sleep 0.5
      echo "## NATS $(nats-server --version | awk '{print $NF}'), window $window: bench --nats nats://127.0.0.1:14222 --server-pid PID --clients 1000 --duration $duration --window $window"
      "$out/bench" --nats nats://127.0.0.1:14222 --server-pid "$pid" --clients 1000 --duration "$duration" --window "$window"
      kill "$pid"; wait "$pid" || true
    fi
  done
fi

if [ "$what" = queue ] || [ "$what" = all ]; then
  echo "## go test -run '^\$' -bench . -benchtime 3s -count 3 ./bus/queue/"
  go test -run '^$' -bench . -benchtime 3s -count 3 ./bus/queue/ | grep -E '^Benchmark'
  for enc in json msgpack; do
    rm -rf "$out/qdata"
    "$out/singyeong" serve --addr 127.0.0.1:14567 --data-dir "$out/qdata" --log-level warn &
    pid=$!
    until curl -sf http://127.0.0.1:14567/healthz >/dev/null; do sleep 0.1; done
    echo "## singyeong queues, $enc: bench --mode queue --server http://127.0.0.1:14567 --duration $duration --encoding $enc"
    "$out/bench" --mode queue --server http://127.0.0.1:14567 --duration "$duration" --encoding "$enc"
    kill "$pid"; wait "$pid" || true
  done
fi

if [ "$what" = cluster ] || [ "$what" = all ]; then
  key=$(head -c 32 /dev/urandom | base64)
  pids=()
  for i in 1 2 3; do
    join=()
    [ "$i" -gt 1 ] && join=(--join 127.0.0.1:17001)
    SINGYEONG_CLUSTER_KEY=$key "$out/singyeong" serve --addr 127.0.0.1:1456$i --data-dir "$out/c$i" --node-id n$i \
      --cluster-addr 127.0.0.1:1700$i "${join[@]}" --balance-interval 0 --log-level warn &
    pids+=($!)
    until curl -sf http://127.0.0.1:1456$i/healthz >/dev/null; do sleep 0.1; done
  done
  until [ "$(curl -sf http://127.0.0.1:14563/api/v1/cluster | grep -o '"link":"synced"' | wc -l)" = 2 ]; do sleep 0.2; done
  for window in 8 512; do
    echo "## singyeong 3-node cluster, same node, window $window: bench --server http://127.0.0.1:14561 --clients 1000 --duration $duration --window $window"
    "$out/bench" --server http://127.0.0.1:14561 --clients 1000 --duration "$duration" --window "$window"
    echo "## singyeong 3-node cluster, across nodes, window $window: bench --server http://127.0.0.1:14561 --sender-server http://127.0.0.1:14562 --clients 1000 --duration $duration --window $window"
    "$out/bench" --server http://127.0.0.1:14561 --sender-server http://127.0.0.1:14562 --clients 1000 --duration "$duration" --window "$window"
  done
  leader=$(curl -sf http://127.0.0.1:14561/api/v1/cluster | grep -o '"leader_addr":"[^"]*"' | cut -d'"' -f4)
  follower=127.0.0.1:14561
  [ "$leader" = "$follower" ] && follower=127.0.0.1:14562
  for target in "$leader" "$follower"; do
    role=leader; [ "$target" = "$follower" ] && role=follower
    echo "## singyeong 3-node cluster queues, clients on the queue $role: bench --mode queue --server http://$target --duration $duration --encoding msgpack"
    "$out/bench" --mode queue --server "http://$target" --duration "$duration" --encoding msgpack
  done
  kill "${pids[@]}"; wait "${pids[@]}" || true
fi
