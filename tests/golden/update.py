#!/usr/bin/env python3
"""Rewrites tests/golden/<case>/expected* from a replay, like VIGIL_UPDATE_GOLDEN=1 does in
tests/golden_test.cc, for when the test binary is not built yet. Review the diff!
Usage: tests/golden/update.py build/vigil CASE..."""
import datetime, json, os, shutil, sqlite3, subprocess, sys, tempfile

def fmt(us):
    s, f = divmod(us, 1000000)
    t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')
    return t + ('.%06dZ' % f if f else 'Z')

vigil = sys.argv[1]
for case in sys.argv[2:]:
    d = os.path.join(os.path.dirname(__file__), case)
    tmp = tempfile.mkdtemp()
    args = open(os.path.join(d, 'args')).read().split()
    subprocess.run([vigil, 'replay', '--quiet', '--state', tmp + '/state', '--breaches', tmp + '/b.jsonl',
                    '--stats', tmp + '/s.json'] + args + [os.path.join(d, 'input')], check=True)
    with open(os.path.join(d, 'expected.jsonl'), 'w') as out:
        for line in open(tmp + '/b.jsonl'):
            b = json.loads(line)
            out.write(json.dumps({k: b[k] for k in ['id', 'time', 'model', 'score', 'entity', 'peer', 'mitre'] if k in b},
                                 sort_keys=True, separators=(',', ':')) + '\n')
    s = json.load(open(tmp + '/s.json'))
    keep = {k: s[k] for k in ['events', 'events_by_format', 'rejects_by_code', 'breaches_by_model',
                              'weak_signals_by_model', 'late_events', 'first_event', 'last_event']}
    open(os.path.join(d, 'expected_stats.json'), 'w').write(json.dumps(keep, indent=2) + '\n')
    c = sqlite3.connect(tmp + '/state/vigil.db')
    rows = c.execute("select id, first_seen, last_seen from entities where type='device'").fetchall()
    open(os.path.join(d, 'expected_entities.txt'), 'w').write(
        ''.join(sorted(f'{r[0]} {fmt(r[1])} {fmt(r[2])}\n' for r in rows)))
    shutil.rmtree(tmp)
