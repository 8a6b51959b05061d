"""Kafka helpers shared by every producer and consumer: producer settings, topic management, dead letters."""
