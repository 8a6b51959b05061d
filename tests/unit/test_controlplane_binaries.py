"""Which control-plane binaries are built, from which module versions (pure: nothing is built here)."""

from __future__ import annotations

from pathlib import Path

from support import gobuild
from support.controlplane import binaries, runner


def test_kubernetes_binaries_share_one_release_and_its_staging_minor() -> None:
    minor = binaries.KUBERNETES_VERSION.split(".")[1]
    assert f"v0.{minor}.{binaries.KUBERNETES_VERSION.split('.')[2]}" == binaries.KUBERNETES_STAGING
    tools = [binaries.KUBE_APISERVER, binaries.KUBE_CONTROLLER_MANAGER, binaries.KUBE_SCHEDULER, binaries.KUBECTL]
    assert {tool.version for tool in tools} == {binaries.KUBERNETES_VERSION}
    replaces = dict(binaries.KUBE_APISERVER.replace)
    assert replaces["k8s.io/client-go"] == f"k8s.io/client-go {binaries.KUBERNETES_STAGING}"
    assert len(replaces) == len(binaries.STAGING_MODULES)


def test_wrapper_module_requires_the_release_and_replaces_staging() -> None:
    files = gobuild.wrapper_files(binaries.KUBE_APISERVER, "1.26")
    assert f"require k8s.io/kubernetes {binaries.KUBERNETES_VERSION}" in files["go.mod"]
    assert f"replace k8s.io/api => k8s.io/api {binaries.KUBERNETES_STAGING}" in files["go.mod"]
    assert 'import _ "k8s.io/kubernetes/cmd/kube-apiserver"' in files["tools.go"]


def test_each_binary_has_its_own_versioned_place_in_the_cache(tmp_path: Path) -> None:
    paths = {gobuild.binary_path(tmp_path, tool) for tool in binaries.ALL}
    assert len(paths) == len(binaries.ALL)
    assert all(
        path.is_relative_to(tmp_path / "bin") and tool.version in str(path)
        for path, tool in zip([gobuild.binary_path(tmp_path, t) for t in binaries.ALL], binaries.ALL, strict=True)
    )
    assert not binaries.is_ready(tmp_path)


def test_kubeconfig_names_the_server_and_token() -> None:
    text = runner._kubeconfig("https://127.0.0.1:6443", "abc")
    assert '"server": "https://127.0.0.1:6443"' in text and '"token": "abc"' in text
