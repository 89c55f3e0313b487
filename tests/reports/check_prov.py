#!/usr/bin/env python3
"""check_prov.py FILE...: check mlaudit PROV-JSON reports.

Each file must validate against the W3C PROV-JSON schema kept beside this
script (prov-json.schema.json, JSON Schema draft-04), and every relation's
endpoints must name a record the document declares (an entity, activity or
agent of the right sort). Exits 0 when all files pass; otherwise prints the
first error, naming the file and the record, and exits 1 (2 on usage).
"""
import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prov-json.schema.json")

# relation -> [(member, the record kinds it may name, required)]
ENDPOINTS = {
    "wasGeneratedBy": [("prov:entity", ("entity",), True), ("prov:activity", ("activity",), False)],
    "used": [("prov:activity", ("activity",), True), ("prov:entity", ("entity",), False)],
    "wasInformedBy": [("prov:informed", ("activity",), True), ("prov:informant", ("activity",), True)],
    "wasStartedBy": [("prov:activity", ("activity",), True), ("prov:trigger", ("entity",), False)],
    "wasEndedBy": [("prov:activity", ("activity",), True), ("prov:trigger", ("entity",), False)],
    "wasInvalidatedBy": [("prov:entity", ("entity",), True), ("prov:activity", ("activity",), False)],
    "wasDerivedFrom": [("prov:generatedEntity", ("entity",), True),
                       ("prov:usedEntity", ("entity",), True),
                       ("prov:activity", ("activity",), False)],
    "wasAttributedTo": [("prov:entity", ("entity",), True), ("prov:agent", ("agent",), True)],
    "wasAssociatedWith": [("prov:activity", ("activity",), True), ("prov:agent", ("agent",), False),
                          ("prov:plan", ("entity",), False)],
    "actedOnBehalfOf": [("prov:delegate", ("agent",), True), ("prov:responsible", ("agent",), True),
                        ("prov:activity", ("activity",), False)],
    "wasInfluencedBy": [("prov:influencee", ("entity", "activity", "agent"), True),
                        ("prov:influencer", ("entity", "activity", "agent"), True)],
    "specializationOf": [("prov:specificEntity", ("entity",), True),
                         ("prov:generalEntity", ("entity",), True)],
    "alternateOf": [("prov:alternate1", ("entity",), True), ("prov:alternate2", ("entity",), True)],
    "hadMember": [("prov:collection", ("entity",), True), ("prov:entity", ("entity",), True)],
}


def check_endpoints(doc):
    """The first relation naming an undeclared record, as a message, or None."""
    declared = {k: set(doc.get(k, {})) for k in ("entity", "activity", "agent")}
    prefixes = set(doc.get("prefix", {})) | {"prov", "xsd"}
    for kind in ("entity", "activity", "agent"):
        for rid in doc.get(kind, {}):
            pfx = rid.split(":", 1)[0] if ":" in rid else None
            if pfx is None or pfx not in prefixes:
                return "%s '%s': prefix '%s' is not declared" % (kind, rid, pfx)
    seen = {}
    for rel, members in ENDPOINTS.items():
        for rid, rec in doc.get(rel, {}).items():
            if rid in seen:
                return "%s '%s': id also used by %s" % (rel, rid, seen[rid])
            seen[rid] = rel
            for member, kinds, required in members:
                if member not in rec:
                    if required:
                        return "%s '%s': %s missing" % (rel, rid, member)
                    continue
                ref = rec[member]
                if not any(ref in declared[k] for k in kinds):
                    return "%s '%s': %s '%s' is not a declared %s" % (
                        rel, rid, member, ref, " or ".join(kinds))
    return None


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: check_prov.py FILE...\n")
        return 2
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for path in argv[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("%s: not JSON: %s" % (path, e))
            return 1
        err = jsonschema.exceptions.best_match(validator.iter_errors(doc))
        if err is not None:
            where = "/".join(str(p) for p in err.absolute_path) or "(document)"
            print("%s: schema: %s: %s" % (path, where, err.message))
            return 1
        problem = check_endpoints(doc)
        if problem:
            print("%s: %s" % (path, problem))
            return 1
        print("%s: ok (%d entities, %d activities, %d agents)" % (
            path, len(doc.get("entity", {})), len(doc.get("activity", {})),
            len(doc.get("agent", {}))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
