#!/bin/sh
# Writes Mosquitto's password file for arrsync from the MQTT_*_PASSWORD variables of .env:
# the five users of mosquitto/acl, hashed by the real mosquitto_passwd, and `homeassistant`
# (Home Assistant's login) when MQTT_HOMEASSISTANT_PASSWORD is set. Replaces the file
# (a new one is written beside it, then renamed), readable by its owner only.
#
#   Docker:      docker compose run --rm passwd
#   Debian:      set -a; . ./.env; set +a
#                sudo -E sh mosquitto/make-passwd.sh /etc/mosquitto/arrsync/passwd mosquitto:mosquitto
#
# Usage: make-passwd.sh [FILE [OWNER]]   FILE defaults to `passwd` beside this script; OWNER
# (user:group) is who the broker reads it as: 1883:1883 in the eclipse-mosquitto image, the
# `mosquitto` user on Debian. After a change: restart the broker (or send it SIGHUP).
set -eu

file=${1:-$(dirname "$0")/passwd}
owner=${2:-}
new="$file.new"
umask 077
rm -f "$new"

create=-c
for entry in bridge:MQTT_BRIDGE_PASSWORD syncer:MQTT_SYNCER_PASSWORD \
        notifier:MQTT_NOTIFIER_PASSWORD trigger:MQTT_TRIGGER_PASSWORD viewer:MQTT_VIEWER_PASSWORD; do
    user=${entry%%:*}
    variable=${entry#*:}
    eval "password=\${$variable:-}"
    if [ -z "$password" ]; then
        rm -f "$new"
        echo "make-passwd: $variable is empty: set it in .env" >&2
        exit 1
    fi
    # mosquitto_passwd 2.0 reports some errors on stderr and still exits 0.
    if ! errors=$(mosquitto_passwd -b $create "$new" "$user" "$password" 2>&1) || [ -n "$errors" ]; then
        rm -f "$new"
        echo "make-passwd: mosquitto_passwd failed for $user: $errors" >&2
        exit 1
    fi
    create=
done
users="bridge syncer notifier trigger viewer"
if [ -n "${MQTT_HOMEASSISTANT_PASSWORD:-}" ]; then
    if ! errors=$(mosquitto_passwd -b "$new" homeassistant "$MQTT_HOMEASSISTANT_PASSWORD" 2>&1) \
            || [ -n "$errors" ]; then
        rm -f "$new"
        echo "make-passwd: mosquitto_passwd failed for homeassistant: $errors" >&2
        exit 1
    fi
    users="$users homeassistant"
fi

if [ -n "$owner" ]; then
    chown "$owner" "$new"
fi
chmod 0600 "$new"
mv -f "$new" "$file"
echo "make-passwd: wrote $file (users: $users)"
