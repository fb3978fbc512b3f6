#!/usr/bin/env bash
# Start each local service the tests need if it is not already answering.
set -uo pipefail

up() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do up "$port" && return 0; sleep 1; done
  echo "services: $name did not come up on port $port" >&2
  return 1
}

start() {
  local name=$1 port=$2; shift 2
  if up "$port"; then return 0; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_for "$name" "$port"
}

start postgresql 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
start mariadb 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
start redis 6379 redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
start rabbitmq 5672 rabbitmq-server -detached
