#!/bin/sh
# Installs arrsync's broker set-up into Debian's or Ubuntu's Mosquitto (package `mosquitto`),
# without Docker: the ACL, a password file and mosquitto.bare-metal.conf as a conf.d file,
# on the port you choose; then restarts the broker.
#
#   sudo sh mosquitto/install-bare-metal.sh [--port 1883] [--env-dir /etc/arrsync]
#
# Passwords: each user's MQTT_<USER>_PASSWORD from the environment when set; else, for
# bridge, syncer and notifier, ARRSYNC_MQTT__PASSWORD from their file in --env-dir (the
# systemd units' environment files, systemd/*.env.example); else a new random one, written
# to <env-dir>/<user>.env (mode 0600) so the process and you can read it.
set -eu

port=1883
env_dir=/etc/arrsync
while [ $# -gt 0 ]; do
    case $1 in
        --port) port=$2; shift 2 ;;
        --env-dir) env_dir=$2; shift 2 ;;
        *) echo "usage: $0 [--port N] [--env-dir DIR]" >&2; exit 2 ;;
    esac
done
case $port in ''|*[!0-9]*) echo "install-bare-metal: --port must be a number" >&2; exit 2 ;; esac
here=$(dirname "$0")
etc=${MOSQUITTO_ETC:-/etc/mosquitto}   # moved only by the tests
install -d -m 0755 "$env_dir"
install -d -m 0750 "$etc/arrsync"

for user in bridge syncer notifier trigger viewer; do
    variable=MQTT_$(echo "$user" | tr a-z A-Z)_PASSWORD
    eval "password=\${$variable:-}"
    file="$env_dir/$user.env"
    if [ -z "$password" ] && [ -f "$file" ]; then
        password=$(sed -n 's/^ARRSYNC_MQTT__PASSWORD=//p' "$file" | tail -n 1)
        [ "$password" = change-me ] && password=
    fi
    if [ -z "$password" ]; then
        password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
        umask 077
        printf 'ARRSYNC_MQTT__USERNAME=%s\nARRSYNC_MQTT__PASSWORD=%s\n' "$user" "$password" \
            > "$file"
        echo "install-bare-metal: a new password for $user is in $file"
    fi
    export "$variable=$password"
done

install -m 0644 "$here/acl" "$etc/arrsync/acl"
sh "$here/make-passwd.sh" "$etc/arrsync/passwd" "${MOSQUITTO_OWNER:-mosquitto:mosquitto}"
sed "s/^listener 1883\$/listener $port/" "$here/mosquitto.bare-metal.conf" \
    > "$etc/conf.d/arrsync.conf"
chmod 0644 "$etc/conf.d/arrsync.conf"
if [ -z "${MOSQUITTO_ETC:-}" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl restart mosquitto
fi
echo "install-bare-metal: Mosquitto listens for arrsync on port $port (mqtt.port: $port)"
