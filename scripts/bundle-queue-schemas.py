#!/usr/bin/env python3
"""Bundle the queue's createTask request schema into one self-contained file.

    bundle-queue-schemas.py REFERENCES_JSON OUT_FILE

REFERENCES_JSON is Taskcluster's generated API reference (a JSON list of
`{filename, content}` entries, `generated/references.json` in the
Taskcluster repository). The script starts from
`schemas/queue/v1/create-task-request.json`, replaces every `$ref` by the
schema it points at (resolved against the `$id` of the schema that holds
it, then followed by its JSON pointer), and keeps only the keywords that
take part in validation (plus `default`, which the fake queue applies the
way the real one does). Titles, descriptions and other prose are dropped.

The output is what crates/fake-taskcluster compiles; regenerate it when the
Taskcluster version it mirrors changes, and say so in its `$comment`.
"""

import json
import sys
from urllib.parse import urljoin, urldefrag

ENTRY = "schemas/queue/v1/create-task-request.json"
VERSION = "106.0.0"

# Keywords whose value is one schema.
SCHEMA_VALUED = {
    "additionalItems",
    "additionalProperties",
    "contains",
    "else",
    "if",
    "not",
    "propertyNames",
    "then",
}
# Keywords whose value is a list of schemas.
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
# Keywords whose value maps names to schemas.
SCHEMA_MAPS = {"patternProperties", "properties"}
# Keywords kept as they are: they constrain the instance (or, for
# `default`, fill it in) and hold no schema inside.
PLAIN = {
    "const",
    "default",
    "enum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "format",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "multipleOf",
    "pattern",
    "required",
    "type",
    "uniqueItems",
}
# Keywords that only explain, identify or hold schemas reached through
# `$ref` (all of which get inlined); none of them changes what validates.
DROPPED = {
    "$comment",
    "$id",
    "$schema",
    "definitions",
    "description",
    "examples",
    "readOnly",
    "title",
    "writeOnly",
}


class BundleError(Exception):
    pass


def load_schemas(references_path):
    """The schemas of the reference, by `$id` without its fragment."""
    with open(references_path, encoding="utf-8") as f:
        entries = json.load(f)
    schemas = {}
    for entry in entries:
        content = entry.get("content")
        if entry.get("filename", "").startswith("schemas/") and isinstance(content, dict):
            schema_id = content.get("$id")
            if schema_id:
                schemas[urldefrag(schema_id)[0]] = content
    return schemas


def follow_pointer(document, pointer, where):
    node = document
    if pointer in ("", "/"):
        return node
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise BundleError(f"{where}: no `{part}` on the way to `#{pointer}`")
    return node


class Bundler:
    def __init__(self, schemas):
        self.schemas = schemas

    def resolve(self, ref, base):
        """The schema `ref` names, and the base its own refs resolve against."""
        target = urljoin(base, ref)
        document_id, pointer = urldefrag(target)
        document = self.schemas.get(document_id)
        if document is None:
            raise BundleError(f"`{ref}` (from {base}) names no schema in the reference")
        return follow_pointer(document, pointer, target), document_id, target

    def bundle(self, schema, base, seen=()):
        """`schema` with every `$ref` inlined and only validation keywords left."""
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, dict):
            raise BundleError(f"{base}: a schema must be an object, not {schema!r}")

        if "$ref" in schema:
            return self.bundle_ref(schema, base, seen)

        base = urljoin(base, schema.get("$id", ""))
        out = {}
        for key, value in schema.items():
            if key in DROPPED:
                continue
            if key in PLAIN:
                out[key] = value
            elif key in SCHEMA_VALUED:
                out[key] = self.bundle(value, base, seen)
            elif key in SCHEMA_LISTS:
                out[key] = [self.bundle(item, base, seen) for item in value]
            elif key in SCHEMA_MAPS:
                out[key] = {name: self.bundle(sub, base, seen) for name, sub in value.items()}
            elif key == "items":
                if isinstance(value, list):
                    out[key] = [self.bundle(item, base, seen) for item in value]
                else:
                    out[key] = self.bundle(value, base, seen)
            elif key == "dependencies":
                out[key] = {
                    name: sub if isinstance(sub, list) else self.bundle(sub, base, seen)
                    for name, sub in value.items()
                }
            else:
                # An unknown keyword may or may not validate: decide by hand.
                raise BundleError(f"{base}: unknown keyword `{key}`")
        return out

    def bundle_ref(self, schema, base, seen):
        target, document_id, name = self.resolve(schema["$ref"], base)
        if name in seen:
            raise BundleError(f"`{name}` refers to itself; it cannot be inlined")
        inlined = self.bundle(target, document_id, seen + (name,))

        # Draft 06 ignores what stands beside a `$ref`; only `default` is
        # worth keeping, since the queue fills it in.
        for key, value in schema.items():
            if key == "$ref" or key in DROPPED:
                continue
            if key != "default":
                raise BundleError(f"{base}: `{key}` beside `$ref` {name}")
            if not isinstance(inlined, dict):
                raise BundleError(f"{base}: `default` beside a boolean schema")
            inlined = dict(inlined, default=value)
        return inlined


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    references, out_path = argv[1], argv[2]
    schemas = load_schemas(references)
    entry_id = next((i for i in schemas if i.lstrip("/") == ENTRY), None)
    if entry_id is None:
        raise BundleError(f"{references} holds no `{ENTRY}`")

    bundled = Bundler(schemas).bundle(schemas[entry_id], entry_id)
    bundled["$comment"] = (
        f"Bundled from Taskcluster {VERSION}'s published API reference "
        f"({ENTRY}, every $ref inlined, prose removed) by "
        "scripts/bundle-queue-schemas.py; regenerate it rather than editing it."
    )
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(bundled, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BundleError as error:
        sys.stderr.write(f"bundle-queue-schemas: {error}\n")
        sys.exit(1)
