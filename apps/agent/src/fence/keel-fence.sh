#!/bin/bash
# keel-fence: a tiny process beside a primary's agent. Plain bash with builtins only on the idle
# path (no Node runtime: ~3 MiB instead of ~45 MiB, starts in milliseconds, sleeps in read(2)
# rather than polling, and has nothing to hang on). The agent arms it after every successful
# leader-lock renewal with a deadline before the lock's lease can expire; if the deadline passes
# without a new one (the agent hung, was SIGSTOPped or died), it stops PostgreSQL at once
# (SIGQUIT = immediate shutdown, SIGKILL if that does not work after 3 s), so a primary whose agent
# cannot hold the lock never keeps accepting writes after another member may have taken over.
#
# Protocol on stdin, one command a line (written by fence/index.ts):
#   arm <deadline, epoch ms> <data directory>     (re-arm moves the deadline)
#   disarm
# When stdin closes (the agent exited or died) it stays armed until the deadline, then exits.
# SIGTERM and SIGINT are ignored: only the agent's disarm + close ends an armed fence.
set -u
trap '' TERM INT HUP

deadline=''   # epoch ms while armed, empty while disarmed
data_dir=''

now_ms() { now=${EPOCHREALTIME/[.,]/}; now=$((10#$now / 1000)); }

log() { # message [extra JSON members, starting with a comma]
  local t
  printf -v t '%(%Y-%m-%dT%H:%M:%S)T' -1
  printf '{"level":50,"time":"%sZ","component":"fence","pid":%d%s,"msg":"%s"}\n' "$t" "$$" "${2:-}" "$1" >&2
}

alive() { # pid: exists and is not a zombie
  local stat state
  kill -0 "$1" 2>/dev/null || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  state=${stat##*) }
  [[ ${state:0:1} != Z ]]
}

fence() { # late_ms
  local pid=''
  { read -r pid <"$data_dir/postmaster.pid"; } 2>/dev/null
  if [[ ! $pid =~ ^[1-9][0-9]*$ ]] || ! alive "$pid"; then
    log 'fence deadline passed; PostgreSQL is not running' ",\"lateMs\":$1"
    return
  fi
  log 'the agent did not renew the leader lock in time: stopping PostgreSQL (immediate)' ",\"postmaster\":$pid,\"lateMs\":$1"
  kill -QUIT "$pid" 2>/dev/null
  now_ms
  local until=$((now + 3000))
  while alive "$pid"; do
    now_ms
    ((now < until)) || break
    sleep 0.02
  done
  alive "$pid" || return
  log 'PostgreSQL ignored the immediate shutdown: SIGKILL' ",\"postmaster\":$pid"
  kill -KILL "$pid" 2>/dev/null
}

input_open=1
while :; do
  if [[ -n $deadline ]]; then
    now_ms
    left=$((deadline - now))
    if ((left <= 0)); then
      d=$deadline
      deadline=''
      fence $((now - d))
      ((input_open)) || exit 0
      continue
    fi
    printf -v timeout '%d.%03d' $((left / 1000)) $((left % 1000))
  elif ((!input_open)); then
    exit 0
  fi
  if ((input_open)); then
    if [[ -n $deadline ]]; then
      IFS= read -r -t "$timeout" line
    else
      IFS= read -r line
    fi
    rc=$?
    if ((rc > 128)); then continue; fi # timed out: the deadline check above fences
    if ((rc != 0)) && [[ -z ${line:-} ]]; then input_open=0; continue; fi
  else
    sleep "$timeout" # stdin closed: stay armed until the deadline
    continue
  fi
  case $line in
    'arm '*)
      rest=${line#arm }
      d=${rest%% *}
      dir=${rest#* }
      if [[ $d =~ ^[0-9]+$ && -n $dir && $dir != "$rest" ]]; then
        deadline=$d
        data_dir=$dir
      else
        log 'ignoring a malformed fence command'
      fi
      ;;
    disarm) deadline='' ;;
    *) log 'ignoring a malformed fence command' ;;
  esac
done
