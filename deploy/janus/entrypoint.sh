#!/bin/sh
# Fills the configuration's @...@ values from the secret files, then runs Janus in the foreground.
set -eu
out=/tmp/janus-conf
mkdir -p "$out"
token_secret="$(cat /run/secrets/janus_token_secret)"
admin_key="$(cat /run/secrets/janus_admin_key)"
for template in /etc/janus/templates/*.jcfg; do
  sed -e "s|@HUB_JANUS_TOKEN_SECRET@|$token_secret|" -e "s|@HUB_JANUS_ADMIN_KEY@|$admin_key|" \
      -e "s|@HUB_JANUS_HTTP_IP@|${JANUS_HTTP_IP:-127.0.0.1}|" "$template" > "$out/$(basename "$template")"
done
exec janus -F "$out" -C "$out/janus.jcfg" ${PUBLIC_IP:+--nat-1-1=$PUBLIC_IP}
