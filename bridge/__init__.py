"""The bridge: arr webhooks in, MQTT events out. Importing it pulls in nothing heavy."""
