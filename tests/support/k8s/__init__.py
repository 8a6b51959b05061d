"""Pure checks and conversions of Kubernetes manifests (plain dicts): Pod Security, RBAC, schemas, Dockerfiles."""
