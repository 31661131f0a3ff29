"""Builds OCI image layouts from a rootfs directory, offline: one image as a tarball for
`ctr image import`, or a layout of several named images (shared layers) that oci_registry.py
serves or that is imported as a whole.

Layers are uncompressed tars; each image's reference name goes in the index annotations
containerd reads.
"""
import hashlib
import io
import json
import os
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def rootfs_layer(rootfs):
    """The tar bytes of a directory tree, as one layer."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry)
    return layer.getvalue()


def files_layer(files):
    """The tar bytes of a layer holding `files` ({path: (bytes, mode)}); parent directories are
    taken from the layers below."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            t.addfile(info, io.BytesIO(data))
    return layer.getvalue()


class Layout:
    """An OCI image layout directory being filled with images; `write_index` finishes it."""

    def __init__(self, path):
        self.path = path
        self.manifests = []

    def add(self, names, layers, cmd=("sh",), entrypoint=None, user=None, env=None):
        """Adds one image made of `layers` (tar bytes, bottom first) under every name in `names`
        (registry/repo:tag); returns the manifest digest."""
        descs = [_blob(self.path, layer) for layer in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": list(cmd), "Env": env or [PATH], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [d for d, _ in descs]},
        }
        if entrypoint:
            config["config"]["Entrypoint"] = list(entrypoint)
        if user:
            config["config"]["User"] = user
        cfg_digest, cfg_size = _blob(self.path, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": cfg_digest, "size": cfg_size},
            "layers": [{"mediaType": LAYER, "digest": d, "size": n} for d, n in descs],
        }
        man_digest, man_size = _blob(self.path, json.dumps(manifest).encode())
        for name in names:
            self.manifests.append({
                "mediaType": MANIFEST,
                "digest": man_digest,
                "size": man_size,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": name,
                                "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
            })
        return man_digest

    def write_index(self):
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.manifests}, f)
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def tar(self, out_tar):
        """The layout as a tarball for `ctr image import`."""
        with tarfile.open(out_tar, "w") as t:
            for entry in ("oci-layout", "index.json", "blobs"):
                t.add(os.path.join(self.path, entry), arcname=entry)
        return out_tar


def build_image_tar(rootfs, out_tar, name, cmd=("sh",)):
    """Writes an OCI archive of `rootfs` to out_tar, tagged `name` (docker.io/library/x:tag)."""
    layout = Layout(out_tar + ".d")
    layout.add([name], [rootfs_layer(rootfs)], cmd=cmd)
    layout.write_index()
    return layout.tar(out_tar)
