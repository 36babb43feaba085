#!/usr/bin/env bash
# Stops what scripts/kube_up.sh started in DIR (by the pids it recorded, and only while each pid
# still runs the program it was started as) and removes DIR. --keep leaves DIR (logs) in place.
#
#   scripts/kube_down.sh DIR [--keep]
set -uo pipefail
DIR=${1:?usage: kube_down.sh DIR [--keep]}
KEEP=${2-}
[[ -d $DIR ]] || exit 0

log() { printf '[kube_down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# stop NAME PROGRAM: SIGTERM, then SIGKILL after 15 s.
stop() {
  local name=$1 program=$2 pidfile=$DIR/$1.pid pid i
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  # Guard against a recycled pid: the process must still be the program started from DIR.
  if [[ -n $pid ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "$program"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pidfile"
}

stop kube-controller-manager kube-controller-manager
stop kube-apiserver kube-apiserver
stop etcd etcd

if [[ $KEEP == --keep ]]; then
  log "kept $DIR"
else
  rm -rf "$DIR"
fi
