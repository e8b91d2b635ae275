"""The syncer: MQTT events in, targeted rsync copies out, job status published."""
