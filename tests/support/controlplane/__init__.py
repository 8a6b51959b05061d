"""A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver, controller-manager, scheduler, KWOK."""
