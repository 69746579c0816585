"""Download helpers for OPUS corpora, which import.py uses for the `opus`
provider: OPUS names a corpus `<name>/<version>` and serves one archive
per language pair, in either language order."""


def archive_url(dataset: str, src: str, trg: str) -> str:
    name, version = dataset.split("/", 1)
    first, second = sorted([src, trg])
    return f"https://object.pouta.csc.fi/OPUS-{name}/{version}/moses/{first}-{second}.txt.zip"
