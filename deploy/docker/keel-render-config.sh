#!/bin/sh
# keel-render-config IN OUT: copies the agent's YAML from IN to OUT (mode 0600) with a
# `controlplane: {url, token}` section built from KEEL_CONTROLPLANE_URL and KEEL_CONTROLPLANE_TOKEN.
# Refuses (exit 2, OUT not written) a missing variable, a token or URL with characters a token or
# URL never has, and an IN that already has a controlplane section.
set -eu
die() { echo "keel-render-config: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: keel-render-config IN OUT"
in="$1"
out="$2"
url="${KEEL_CONTROLPLANE_URL:-}"
token="${KEEL_CONTROLPLANE_TOKEN:-}"
[ -r "$in" ] || die "cannot read $in"
[ -n "$url" ] || die "KEEL_CONTROLPLANE_URL is not set"
[ -n "$token" ] || die "KEEL_CONTROLPLANE_TOKEN is not set"
case "$url" in
  http://*|https://*) ;;
  *) die "KEEL_CONTROLPLANE_URL must start with http:// or https:// (got '$url')" ;;
esac
case "$url" in *[!A-Za-z0-9._~:/@%-]*) die "KEEL_CONTROLPLANE_URL may only hold letters, digits and . _ ~ : / @ % -" ;; esac
case "$token" in *[!A-Za-z0-9._~-]*) die "KEEL_CONTROLPLANE_TOKEN has characters a Keel token never has" ;; esac
if grep -q '^controlplane:' "$in"; then die "$in already has a controlplane section: drop it or unset KEEL_CONTROLPLANE_TOKEN"; fi
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
umask 077
{
  cat "$in"
  printf '\n# added by keel-render-config from KEEL_CONTROLPLANE_URL and KEEL_CONTROLPLANE_TOKEN\ncontrolplane:\n  url: "%s"\n  token: "%s"\n' "$url" "$token"
} > "$tmp"
mv "$tmp" "$out"
trap - EXIT
