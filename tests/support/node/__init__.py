"""A one-node Kubernetes cluster on this machine with real containers: containerd, kubelet, kube-proxy, CNI, DNS."""
