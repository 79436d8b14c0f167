"""Mutation fuzzing of the definition reader: random edits of zoo/*.yaml must give a result or one clear error
(exit 0, 1 or 64), never a crash, a trap or a hang.

  python3 scripts/fuzz-definitions.py [SEED] [COUNT]     (after `swift build -c release --product zoo`)
"""
import random, re, subprocess, glob, sys, os, tempfile
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
Z = os.path.join(ROOT, ".build/release/zoo")
files = sorted(glob.glob(os.path.join(ROOT, "zoo/*.yaml")))
os.chdir(tempfile.mkdtemp(prefix="zoo-fuzz-"))
print("work folder:", os.getcwd())
tokens = ["0", "-1", "99999999999", "9223372036854775807", "2.5", "[]", "{}", "~", "'", '"', "[", "]", "{", "}", ":",
          "channels // 0", "x" * 3, "relu", "conv", "add", "concat", "-", "\n", " ", "1e400", "len()", "range(5)",
          "[1,2]", "true", "a if b else c", "**", "//", "%", "not", "("]
crashes = 0
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
for i in range(N):
    src = open(random.choice(files)).read()
    for _ in range(random.randint(1, 4)):
        pos = random.randrange(len(src))
        op = random.random()
        if op < 0.4:
            src = src[:pos] + random.choice(tokens) + src[pos + random.randint(0, 5):]
        elif op < 0.7:
            src = src[:pos] + src[pos + random.randint(1, 20):]
        else:
            # replace a number
            nums = [m for m in re.finditer(r"\d+", src)]
            if nums:
                m = random.choice(nums)
                src = src[:m.start()] + random.choice(["0", "-3", "1", "100000", "4294967296", "9223372036854775807"]) + src[m.end():]
    open("m.yaml", "w").write(src)
    args = random.choice([["describe", "m.yaml"], ["rf", "m.yaml"], ["compare", "m.yaml", "m.yaml"], ["describe", "m.yaml", "--input", "3x7x9"]])
    try:
        r = subprocess.run([Z] + args, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        print("TIMEOUT", i); os.rename("m.yaml", f"timeout-{i}.yaml"); crashes += 1; continue
    if r.returncode not in (0, 1, 64):
        crashes += 1
        print("CRASH", i, r.returncode, args, r.stderr[:300])
        os.rename("m.yaml", f"crash-{i}.yaml")
print("done", N, "crashes", crashes)
