# What the tests run. `tests`, at the end, holds one line per test, `t NAME KIND ARGUMENTS...`:
# KIND is one of the functions below (http, http2, tcp, job, gateway, lb), ARGUMENTS its own.

set -u
curl_image=curlimages/curl
nc_image=busybox:1.36
curl_status='curl -sS -o /dev/null -w "%{http_code}\n" --max-time 5'
http_expect='an HTTP status other than 000, 403 and 503'
job_timeout=${SMOKE_JOB_TIMEOUT:-5m}
passed=0 failed=0 jobs_done=

pass() {
  passed=$((passed + 1))
  printf 'ok %s\n' "$1"
}

# NAME WHAT: WHAT says what was seen and what was expected.
fail() {
  failed=$((failed + 1))
  printf 'FAIL %s: %s\n' "$1" "$2"
}

# $quoted: $1 as one word of a shell command, in single quotes only when it needs them.
quote() {
  case $1 in
    '' | *[!A-Za-z0-9._:/%@+=,-]*) ;;
    *) quoted=$1; return ;;
  esac
  quoted= rest=$1
  while :; do
    case $rest in
      *\'*) quoted=$quoted${rest%%\'*}\'\\\'\' rest=${rest#*\'} ;;
      *) break ;;
    esac
  done
  quoted=\'$quoted$rest\'
}

# From $out: $status, its last line that is an HTTP status; $said, its last other line worth
# showing.
read_out() {
  status= said=
  while IFS= read -r line; do
    case $line in
      [0-9][0-9][0-9]) status=$line ;;
      '' | 'pod "'*'" deleted' | "If you don't see a command prompt"*) ;;
      *) said=$line ;;
    esac
  done <<EOF
$out
EOF
}

# NAME NAMESPACE ACCOUNT SIDECAR IMAGE CHECK: runs the shell command CHECK in a throwaway pod
# NAME, as ACCOUNT (-: the namespace's default), with a sidecar when SIDECAR is true, which
# holds CHECK until the proxy is up and is stopped after it so that the pod ends. Its output
# (kubectl's too) in $out, the exit status in $rc. A pod of that name left by an interrupted
# run is deleted and the check run once more.
in_pod() {
  pod=$1 namespace=$2 account=$3 sidecar=$4 image=$5 check=$6 overrides=
  if [ "$sidecar" = true ]; then
    if [ "$image" = "$curl_image" ]; then
      quit='curl -fsS -o /dev/null -X POST http://127.0.0.1:15020/quitquitquit'
    else
      quit='wget -q -O /dev/null --post-data= http://127.0.0.1:15020/quitquitquit'
    fi
    check="$check; code=\$?; $quit; exit \$code"
    overrides=',"metadata":{"annotations":{"proxy.istio.io/config":"{\"holdApplicationUntilProxyStarts\":true}"}}'
  fi
  if [ "$account" != - ]; then
    overrides=$overrides',"spec":{"serviceAccountName":"'$account'"}'
  fi
  set -- "$pod" -n "$namespace" --rm -i --restart=Never --image="$image" \
    --labels=sidecar.istio.io/inject="$sidecar"
  if [ -n "$overrides" ]; then
    set -- "$@" --overrides='{"apiVersion":"v1"'"$overrides}"
  fi
  out=$(kubectl run "$@" --command -- sh -c "$check" </dev/null 2>&1)
  rc=$?
  case $rc:$out in
    0:*) ;;
    *'(AlreadyExists)'*)
      kubectl delete pod "$pod" -n "$namespace" --ignore-not-found --wait=true >/dev/null 2>&1
      out=$(kubectl run "$@" --command -- sh -c "$check" </dev/null 2>&1)
      rc=$? ;;
  esac
}

# NAME: passes when $out holds an HTTP status other than 000, 403 and 503.
judge_status() {
  read_out
  case $status in
    '') fail "$1" "no HTTP status (exit status $rc${said:+: $said}), expected $http_expect" ;;
    000 | 403 | 503) fail "$1" "HTTP $status${said:+ ($said)}, expected $http_expect" ;;
    *) pass "$1" ;;
  esac
}

# NAME NAMESPACE ACCOUNT SIDECAR URL: an HTTP request from a pod like the caller's.
http() {
  quote "$5"
  in_pod "$1" "$2" "$3" "$4" "$curl_image" "$curl_status $quoted"
  judge_status "$1"
}

# NAME NAMESPACE ACCOUNT SIDECAR URL: the same for HTTP/2 and gRPC (which answers 200 or 415
# to a bare request).
http2() {
  quote "$5"
  in_pod "$1" "$2" "$3" "$4" "$curl_image" "$curl_status --http2-prior-knowledge $quoted"
  judge_status "$1"
}

# NAME NAMESPACE ACCOUNT SIDECAR HOST PORT: a TCP connection from a pod like the caller's.
tcp() {
  quote "$5"
  host=$quoted
  quote "$6"
  in_pod "$1" "$2" "$3" "$4" "$nc_image" "nc -z -w 5 $host $quoted"
  if [ "$rc" -eq 0 ]; then
    pass "$1"
  else
    read_out
    fail "$1" "exit status $rc${said:+ ($said)}, expected 0 (the connection opens)"
  fi
}

# NAME NAMESPACE CRONJOB JOB: one job of the caller's CronJob, which must complete; it runs
# once for all the tests of its CronJob, and a job of that name left by an earlier run goes
# first.
job() {
  case $jobs_done in
    *" $2/$4=ok "*) pass "$1"; return ;;
    *" $2/$4=failed "*)
      fail "$1" "job $4 in $2 did not complete (see its first test), expected it to complete"
      return ;;
  esac
  kubectl delete job "$4" -n "$2" --ignore-not-found >/dev/null 2>&1
  if out=$(kubectl create job -n "$2" --from=cronjob/"$3" "$4" 2>&1) &&
    out=$(kubectl wait --for=condition=complete job/"$4" -n "$2" --timeout="$job_timeout" 2>&1); then
    jobs_done="$jobs_done $2/$4=ok "
    pass "$1"
  else
    rc=$?
    jobs_done="$jobs_done $2/$4=failed "
    read_out
    fail "$1" "job $4 in $2 did not complete within $job_timeout (exit status $rc${said:+: $said}), expected it to complete (its logs: kubectl logs job/$4 -n $2)"
  fi
}

# NAME NAMESPACE URL [CONNECT-TO]: a request through the ingress gateway's Service, from a
# pod without a sidecar in the service's namespace; CONNECT-TO (host:port:gateway:port)
# sends a request for the route's host to the gateway.
gateway() {
  options=
  case $3 in https:*) options=' --insecure' ;; esac
  if [ $# -ge 4 ]; then
    quote "$4"
    options="$options --connect-to $quoted"
  fi
  quote "$3"
  in_pod "$1" "$2" - false "$curl_image" "$curl_status$options $quoted"
  judge_status "$1"
}

# NAME NAMESPACE SERVICE SCHEME PORT: a request from here to the LoadBalancer Service's
# address, its .ip or (as AWS publishes it) its .hostname.
lb() {
  if ! out=$(kubectl get service "$3" -n "$2" -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}' 2>&1) ||
    [ -z "$out" ]; then
    read_out
    fail "$1" "no address for the load balancer of service $3 in $2${said:+ ($said)}, expected $http_expect"
    return
  fi
  address=$out
  if [ "$4" = https ]; then
    out=$(curl -sS --insecure -o /dev/null -w '%{http_code}\n' --max-time 5 "$4://$address:$5/" 2>&1)
  else
    out=$(curl -sS -o /dev/null -w '%{http_code}\n' --max-time 5 "$4://$address:$5/" 2>&1)
  fi
  rc=$?
  judge_status "$1"
}

# NAME KIND ARGUMENTS...: one test, run if it was asked for (or listed, or looked for).
t() {
  case $mode in
    list) printf '%s\n' "$1"; return ;;
    find) case $wanted in *" $1 "*) found="$found $1 " ;; esac; return ;;
  esac
  case $wanted in '' | *" $1 "*) ;; *) return ;; esac
  name=$1 kind=$2
  shift 2
  "$kind" "$name" "$@"
}

main() {
  mode=run wanted=
  case ${1-} in
    --list) mode=list; tests; exit 0 ;;
    -*) printf 'usage: sh %s [--list | NAME...]\n' "$0" >&2; exit 2 ;;
  esac
  if [ $# -gt 0 ]; then
    wanted=" $* " found= mode=find
    tests
    unknown=0
    for name in "$@"; do
      case $found in
        *" $name "*) ;;
        *) printf 'no smoke test named %s in %s (--list names them)\n' "$name" "$0" >&2
          unknown=1 ;;
      esac
    done
    [ "$unknown" -eq 0 ] || exit 2
    mode=run
  fi
  tests
  printf '%s passed, %s failed\n' "$passed" "$failed" >&2
  [ "$failed" -eq 0 ] || exit 1
}
