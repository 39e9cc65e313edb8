#!/usr/bin/python3
"""`mpirun -np 2 kiln train`, rank 1 SIGKILLed in epoch 2: the job ends within 30 s with mpirun
naming the rank, the checkpoint left is epoch 1's, and `mpirun -np 2 kiln train --resume` ends
with the bits of the run that never stopped (model file and history.csv).
Usage: kill_and_resume.py MPIRUN KILN FASHION_MNIST_DIR WORK_DIR"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

mpirun, kiln, data, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work + "/home")
env = dict(os.environ, HOME=work + "/home")
mpi = [mpirun, "-np", "2", "--oversubscribe"]
# 12,000 images: an epoch lasts over a second even on an idle machine, so rank 1 is still training
# when it is killed (with 3,000, epoch 2 could end before the kill, and rank 1 with it).
args = [kiln, "train", "--dataset", "fashion-mnist", "--no-download", "--data", data, "--train-samples", "12000",
        "--test-samples", "32", "--epochs", "2", "--batch-size", "16", "--threads", "1", "--seed", "2", "--verbose", "2"]


def fail(message):
    print("FAILED: " + message)
    sys.exit(1)


whole = subprocess.run(mpi + args + ["--out", work + "/whole"], env=env, capture_output=True, text=True, timeout=300)
if whole.returncode != 0:
    fail("the uninterrupted run failed:\n" + whole.stdout + whole.stderr)

job = subprocess.Popen(mpi + args + ["--out", work + "/killed"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
out = ""
for line in job.stdout:
    out += line
    if line.startswith("Epoch 2/2"):
        break
time.sleep(0.2)  # inside epoch 2


def rank_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=")[1])
    except OSError:
        pass
    return None


children = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split()
victims = [int(p) for p in children if rank_of(int(p)) == 1]
if not victims:
    fail("no rank 1 among mpirun's children %s\n%s" % (children, out))
killed_at = time.monotonic()
os.kill(victims[0], signal.SIGKILL)
try:
    rest, _ = job.communicate(timeout=30)
except subprocess.TimeoutExpired:
    job.kill()
    fail("the job was still running 30 s after rank 1 was killed")
took = time.monotonic() - killed_at
out += rest
if job.returncode == 0 or "rank 1" not in rest:
    fail("the job should end with an error naming rank 1 (exit %d):\n%s" % (job.returncode, out))
if os.path.exists(work + "/killed/model.safetensors"):
    fail("the killed run finished anyway")
with open(work + "/killed/checkpoint.safetensors", "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
epochs_done = json.loads(header["__metadata__"]["kiln.training"])["epochs_done"]
if epochs_done != 1:
    fail("the checkpoint should be epoch 1's, it holds %d epochs" % epochs_done)

resumed = subprocess.run(mpi + [kiln, "train", "--verbose", "2", "--no-download", "--data", data, "--resume",
                                work + "/killed"], env=env, capture_output=True, text=True, timeout=300)
if resumed.returncode != 0 or "after epoch 1 of 2" not in resumed.stdout:
    fail("the resumed run failed:\n" + resumed.stdout + resumed.stderr)
for name in ("model.safetensors", "history.csv"):
    with open(work + "/whole/" + name, "rb") as a, open(work + "/killed/" + name, "rb") as b:
        if a.read() != b.read():
            fail(name + " of the resumed run differs from the uninterrupted run's")
shutil.rmtree(work, ignore_errors=True)
print("killed rank 1 in epoch 2: the job ended in %.1f s; the resumed run ended bit-identical" % took)
