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
#   lease <hex id>|-                              (the etcd lease holding the leader key)
# SIGTERM and SIGINT are ignored: only the agent's disarm + close ends an armed fence.
#
# When stdin closes while armed:
# - the agent is dead (its pid is gone: kill -9, crash, OOM): fence at once, i.e. stop PostgreSQL
#   (immediate), confirm the postmaster and every process left in the data directory are gone, and
#   only then revoke the agent's lease with etcdctl (endpoints, TLS and user from the ETCDCTL_*
#   environment the agent set), so the leader key goes and a replica takes over in a second or two
#   instead of at the lease's expiry. If anything cannot be confirmed or revoked, the lease simply
#   expires as before (ARCHITECTURE.md, "Fast failover on agent death").
# - the agent is still alive (it closed the pipe but did not disarm): stay armed until the deadline.
# A hung (SIGSTOPped) agent never closes stdin: the deadline, as before.
set -u
trap '' TERM INT HUP

deadline=''   # epoch ms while armed, empty while disarmed
data_dir=''
lease=''      # hex lease id, empty when unknown
agent_pid=$PPID

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

fence() { # late_ms [reason]; returns 0 once the postmaster and the processes in the data directory are gone
  local pid=''
  { read -r pid <"$data_dir/postmaster.pid"; } 2>/dev/null
  if [[ ! $pid =~ ^[1-9][0-9]*$ ]] || ! alive "$pid"; then
    log 'fence deadline passed; PostgreSQL is not running' ",\"lateMs\":$1"
    leftovers
    return
  fi
  log "${2:-the agent did not renew the leader lock in time}: stopping PostgreSQL (immediate)" ",\"postmaster\":$pid,\"lateMs\":$1"
  kill -QUIT "$pid" 2>/dev/null
  now_ms
  local until=$((now + 3000))
  while alive "$pid"; do
    now_ms
    ((now < until)) || break
    sleep 0.02
  done
  if alive "$pid"; then
    log 'PostgreSQL ignored the immediate shutdown: SIGKILL' ",\"postmaster\":$pid"
    kill -KILL "$pid" 2>/dev/null
    now_ms
    until=$((now + 3000))
    while alive "$pid"; do
      now_ms
      ((now < until)) || { log 'the postmaster survived SIGKILL' ",\"postmaster\":$pid"; return 1; }
      sleep 0.02
    done
  fi
  leftovers
}

in_data_dir() { # pids of processes whose working directory is the data directory (PostgreSQL's)
  local p
  pids=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    ((p == $$ || p == BASHPID)) && continue
    [[ /proc/$p/cwd -ef $data_dir ]] && alive "$p" && pids+=("$p")
  done
}

leftovers() { # a postmaster that was SIGKILLed leaves its backends behind: kill them; 0 when none is left
  local pids p until
  in_data_dir
  ((${#pids[@]} == 0)) && return 0
  log 'killing processes left in the data directory' ",\"pids\":\"${pids[*]}\""
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  now_ms
  until=$((now + 3000))
  while :; do
    in_data_dir
    ((${#pids[@]} == 0)) && return 0
    now_ms
    ((now < until)) || break
    sleep 0.02
  done
  log 'processes survived in the data directory' ",\"pids\":\"${pids[*]}\""
  return 1
}

agent_dead() { # waits up to 1 s for the agent's pid to go (its pipe closes just before it exits)
  local until
  now_ms
  until=$((now + 1000))
  while alive "$agent_pid"; do
    now_ms
    ((now < until)) || return 1
    sleep 0.02
  done
}

revoke() { # revoke the agent's lease so the leader key goes now rather than at expiry
  local out tries=0
  if [[ -z $lease ]]; then
    log 'no lease id known: the leader key expires with its lease'
    return
  fi
  if ! command -v etcdctl >/dev/null; then
    log 'etcdctl is not installed: the leader key expires with its lease' ",\"lease\":\"$lease\""
    return
  fi
  while ((tries++ < 5)); do
    if out=$(etcdctl --dial-timeout=1s --command-timeout=2s lease revoke "$lease" 2>&1); then
      log 'PostgreSQL is stopped; revoked the leader lease so another member can take over now' ",\"lease\":\"$lease\""
      return
    fi
    if [[ $out == *'not found'* ]]; then
      log 'the leader lease is already gone' ",\"lease\":\"$lease\""
      return
    fi
    sleep 0.2
  done
  out=${out//[^a-zA-Z0-9 .:,_=-]/ }
  log 'could not revoke the leader lease: it expires on its own' ",\"lease\":\"$lease\",\"error\":\"${out:0:300}\""
}

agent_died() { # stdin closed while armed and the agent is gone: fence now, then hand over
  deadline=''
  if fence 0 'the agent died'; then
    revoke
  else
    log 'PostgreSQL could not be confirmed stopped: not revoking the leader lease'
  fi
  exit 0
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
    if ((rc != 0)) && [[ -z ${line:-} ]]; then
      input_open=0
      [[ -n $deadline ]] && agent_dead && agent_died
      continue
    fi
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
    'lease '*)
      l=${line#lease }
      if [[ $l =~ ^[0-9a-f]{1,16}$ ]]; then lease=$l
      elif [[ $l == - ]]; then lease=''
      else log 'ignoring a malformed fence command'
      fi
      ;;
    *) log 'ignoring a malformed fence command' ;;
  esac
done
