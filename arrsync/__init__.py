"""The foundation every arrsync process shares: settings, MQTT, topics, the wire, logging."""
