"""The local stack: real Kafka, HDFS and DynamoDB-API processes on loopback, started by ``logpipeline stack``."""
