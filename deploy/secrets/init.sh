#!/usr/bin/env sh
# Makes the compose stack's secrets in deploy/secrets/ (once; existing files are kept):
# random passwords and keys, the URLs that carry them, a Mosquitto password file, and a
# self-signed certificate for HUB_HOST (replace tls.crt/tls.key with the hospital's own).
set -eu
cd "$(dirname "$0")"
host="${HUB_HOST:-hub.alliance.example}"
umask 077
rand() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "${1:-40}"; }
[ -s django_secret_key ] || rand 64 > django_secret_key
[ -s postgres_password ] || rand 32 > postgres_password
[ -s database_url ] || printf 'postgresql://hub:%s@postgres:5432/hub' "$(cat postgres_password)" > database_url
[ -s mqtt_password ] || rand 32 > mqtt_password
[ -s mqtt_url ] || printf 'mqtt://hub:%s@mosquitto:1883' "$(cat mqtt_password)" > mqtt_url
if [ ! -s mosquitto_passwd ]; then
  printf 'hub:%s\n' "$(cat mqtt_password)" > mosquitto_passwd
  # Hash it in place with the broker's own tool.
  docker run --rm -v "$PWD:/s" eclipse-mosquitto:2 mosquitto_passwd -U /s/mosquitto_passwd
fi
if [ ! -s tls.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$host" \
    -addext "subjectAltName=DNS:$host,DNS:localhost" -keyout tls.key -out tls.crt 2>/dev/null
fi
chmod 644 tls.crt mosquitto_passwd
echo "secrets ready in $(pwd)"
