#!/usr/bin/env sh
# Makes the compose stack's secrets in deploy/secrets/ (once; existing files are kept):
# random passwords and keys, the URLs that carry them, a Mosquitto password file, and a
# self-signed certificate for HUB_HOST (replace tls.crt/tls.key with the hospital's own).
#
# Permissions: Docker Compose bind-mounts these files into the containers with the host's owner and mode
# (compose cannot set a file secret's uid or mode), and the containers read them as their own users (the hub
# as "hub", PostgreSQL as "postgres", Mosquitto as "mosquitto", coturn as "nobody"). So the files are made
# readable (0644) and this folder is closed instead (0700): on the host only its owner reaches them.
set -eu
cd "$(dirname "$0")"
host="${HUB_HOST:-hub.alliance.example}"
chmod 700 .
umask 077
rand() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "${1:-40}"; }
[ -s django_secret_key ] || rand 64 > django_secret_key
[ -s postgres_password ] || rand 32 > postgres_password
[ -s database_url ] || printf 'postgresql://hub:%s@postgres:5432/hub' "$(cat postgres_password)" > database_url
[ -s metrics_token ] || rand 40 > metrics_token  # Prometheus' bearer token for /metrics (HUB_METRICS_TOKEN)
[ -s mqtt_password ] || rand 32 > mqtt_password
# The hub's MQTT user is the one mosquitto.acl lets read every site's device data.
[ -s mqtt_url ] || printf 'mqtt://alliance-hub:%s@mosquitto:1883' "$(cat mqtt_password)" > mqtt_url
if [ ! -s mosquitto_passwd ]; then
  printf 'alliance-hub:%s\n' "$(cat mqtt_password)" > mosquitto_passwd
  # Hash it in place with the broker's own tool (this host's, else the broker image's).
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    mosquitto_passwd -U mosquitto_passwd
  else
    docker run --rm -v "$PWD:/s" eclipse-mosquitto:2 mosquitto_passwd -U /s/mosquitto_passwd
  fi
fi
if [ ! -s tls.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$host" \
    -addext "subjectAltName=DNS:$host,DNS:localhost" -keyout tls.key -out tls.crt 2>/dev/null
fi
# --- consultation rooms (rooms.compose.yml): coturn's shared secret, LiveKit's API key pair ---
[ -s turn_secret ] || rand 48 > turn_secret
[ -s livekit_api_secret ] || rand 48 > livekit_api_secret
[ -s livekit_keys ] || printf 'alliance-hub: %s\n' "$(cat livekit_api_secret)" > livekit_keys
# Janus instead of LiveKit (janus.compose.yml): its token secret and the VideoRoom plugin's admin key.
[ -s janus_token_secret ] || rand 48 > janus_token_secret
[ -s janus_admin_key ] || rand 48 > janus_admin_key
# --- end of consultation rooms ---
# Readable inside the containers (see the top); the folder (0700) keeps them from the host's other users.
for made in django_secret_key postgres_password database_url mqtt_password mqtt_url mosquitto_passwd tls.crt tls.key \
    metrics_token turn_secret livekit_api_secret livekit_keys; do
  if [ -e "$made" ]; then chmod 644 "$made"; fi
done
echo "secrets ready in $(pwd)"
