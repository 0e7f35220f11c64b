"""A private mount namespace with a minimal root, and a fresh tmpfs for every submission.

The warm worker builds the root once: a small tmpfs holding read-only binds of the
interpreter's library folders, the environment's site-packages, the sandbox's own code and
three device nodes, then pivots into it. The host's /tmp, /run, /home, /root, its UNIX
socket files, the course, the output folder and other submissions are simply not there.
Every sandboxed child is cloned into a copy of that namespace and mounts its own size- and
inode-limited tmpfs as /work (also seen as /tmp): when the child's pid namespace ends, the
mount namespace and with it everything the submission wrote disappear, with no deletion
anywhere. Never raises: each step says whether it took effect.
"""
from __future__ import annotations

import ctypes
import os
import stat
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}

# Where a submission works, the first of these that no library folder lies beneath or above.
WORK_CANDIDATES = (Path("/work"), Path("/submission"), Path("/sandbox-work"))
TMP = Path("/tmp")
PROC = Path("/proc")
DEVICES = (Path("/dev/null"), Path("/dev/zero"), Path("/dev/urandom"))
# Shared libraries that the interpreter's extension modules and numpy link against.
SYSTEM_LIBRARIES = (Path("/lib"), Path("/lib64"), Path("/usr/lib"), Path("/usr/lib64"), Path("/usr/local/lib"),
                    Path("/etc/ld.so.cache"))
# The sandbox's own code: what a worker and a sandboxed child import. Nothing of the course,
# the grading or the reports.
SANDBOX_PACKAGES = ("engine", "sandbox", "kit")

_libc = None


def _lib():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                    ctypes.c_char_p]
            _libc.syscall.restype = ctypes.c_long
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def _mount(source: str | None, target: str | Path, fstype: str | None, flags: int, data: str | None = None) -> bool:
    libc = _lib()
    if libc is None:
        return False
    enc = lambda s: None if s is None else os.fsencode(str(s))  # noqa: E731
    try:
        return libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0
    except Exception:
        return False


def _unshare(flags: int) -> bool:
    libc = _lib()
    try:
        return libc is not None and libc.unshare(ctypes.c_int(flags)) == 0
    except Exception:
        return False


def _pivot_root(new_root: str) -> bool:
    libc, number = _lib(), _SYS_PIVOT_ROOT.get(os.uname().machine)
    if libc is None or number is None:
        return False
    try:
        os.chdir(new_root)
        # pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new.
        if libc.syscall(ctypes.c_long(number), b".", b".") != 0:
            return False
        return libc.umount2(b".", ctypes.c_int(MNT_DETACH)) == 0 and _chdir("/")
    except Exception:
        return False


def _chdir(path: str) -> bool:
    try:
        os.chdir(path)
        return True
    except OSError:
        return False


@dataclass
class RootPlan:
    """What the minimal root holds: read-only binds, and paths replaced by an empty folder."""

    binds: list[Path] = field(default_factory=list)
    masks: list[Path] = field(default_factory=list)
    # The sandbox's package folder: only its SANDBOX_PACKAGES are visible inside.
    package: Path | None = None
    # Bound read-write (no exec, no devices): the kit's control-group folders, so the worker's
    # per-submission processes can still make and remove their groups inside the root.
    writable: list[Path] = field(default_factory=list)

    def _clear_of(self, path: Path) -> bool:
        return not any(b == path or path in b.parents or b in path.parents for b in self.readable())

    @property
    def work(self) -> Path:
        return next((c for c in WORK_CANDIDATES if self._clear_of(c)), WORK_CANDIDATES[-1])

    @property
    def private_tmp(self) -> bool:
        """/tmp can be the submission's own unless a library folder lies beneath it."""
        return self._clear_of(TMP)

    def readable(self) -> list[Path]:
        """What a sandboxed child may read (for Landlock, which also applies without the root)."""
        paths = [p for p in self.binds if p not in DEVICES]
        if self.package is not None:
            paths += [self.package / "__init__.py"] + [self.package / name for name in SANDBOX_PACKAGES]
        return paths


def plan_root(package: Path) -> RootPlan:
    """The interpreter's stdlib and lib-dynload, the environment's site-packages, system libraries."""
    paths = sysconfig.get_paths()
    libraries = {Path(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(key)}
    binds = sorted(p for p in libraries if p.is_dir()) + [p for p in SYSTEM_LIBRARIES if os.path.lexists(p)]
    binds += [p for p in DEVICES if p.exists()]
    site = {Path(paths["purelib"]), Path(paths["platlib"])}
    # A base interpreter's own site-packages may hold packages of another install (a course's
    # reference among them): only the environment's site-packages is visible.
    masks = [Path(paths["stdlib"]) / "site-packages"]
    masks = [m for m in masks if m.is_dir() and m not in site]
    global _plan
    _plan = RootPlan(binds, masks, package)
    return _plan


def _make_mountpoint(root: Path, path: Path, like: Path) -> Path:
    target = root / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if like.is_dir():
        target.mkdir(exist_ok=True, mode=0o755)
    elif not target.exists():
        target.touch(mode=0o644)
    return target


def _bind_read_only(source: Path, target: Path, devices: bool = False) -> bool:
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (0 if devices else MS_NODEV)
    return _mount(str(source), target, None, MS_BIND) and _mount(None, target, None, flags)


def _empty_folder(target: Path) -> bool:
    return _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=2,mode=0555")


def enter_minimal_root(plan: RootPlan, staging: Path) -> bool:
    """Move this process into a private mount namespace whose root holds only `plan`.

    `staging` is an empty folder of the host used as the mount point of the new root (it
    stays empty on the host: the namespace is private). Everything the process imported so
    far stays usable; later imports find the binds. False, with this process's view of the
    filesystem unchanged or harmlessly extended, when any step is refused.
    """
    if not _unshare(CLONE_NEWNS):
        return False
    if not _mount(None, "/", None, MS_REC | MS_PRIVATE):  # nothing mounted here reaches the host
        return False
    root = staging.resolve()
    if not _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,nr_inodes=8192,mode=0755"):
        return False
    try:
        for source in plan.binds:
            if os.path.islink(source):  # /lib -> usr/lib on merged-/usr systems: the same link
                link = root / source.relative_to("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                if not os.path.lexists(link):
                    os.symlink(os.readlink(source), link)
                continue
            real = source.resolve()
            target = _make_mountpoint(root, source, real)
            if not _bind_read_only(real, target, devices=source in DEVICES):
                return False
        for source in plan.writable:
            target = _make_mountpoint(root, source, source)
            if not (_mount(str(source), target, None, MS_BIND)
                    and _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC)):
                return False
        for mask in plan.masks:
            target = root / mask.relative_to("/")
            if target.is_dir() and not _empty_folder(target):
                return False
        if plan.package is not None and not _only_sandbox_code(root, plan.package):
            return False
        for folder in (plan.work, TMP, PROC):
            (root / folder.relative_to("/")).mkdir(exist_ok=True, mode=0o755)
        if not _pivot_root(str(root)):
            return False
    except OSError:
        return False
    global _entered
    _entered = True
    # The root's own folders become read-only; only mounts made later (a submission's tmpfs) are writable.
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return True


def _only_sandbox_code(root: Path, package: Path) -> bool:
    """The sandbox's package with only engine, sandbox and kit: no course, grading or reports code."""
    target = root / package.relative_to("/")
    target.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=64,mode=0755"):
        return False
    for name in ("__init__.py", *SANDBOX_PACKAGES):
        source = package / name
        if source.exists() and not _bind_read_only(source.resolve(), _make_mountpoint(root, package / name, source)):
            return False
    return _mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


_entered = False


def work_folder() -> Path:
    """The fixed work folder of a sandboxed child inside the minimal root."""
    return (_plan or plan_root(Path(__file__).resolve().parents[1])).work


def in_minimal_root() -> bool:
    """Whether this process (or the worker it was forked from) pivoted into the minimal root."""
    return _entered


def mount_submission_fs(uid: int | None, max_disk_mb: int, max_files: int, own_pid_namespace: bool,
                        hide: list[str], workdir: Path) -> list[str]:
    """In a child's own mount namespace: its tmpfs as `workdir` and /tmp, its /proc, masks.

    Returns what took effect, [] if the tmpfs could not be mounted (the work folder is then a
    plain folder). `hide` are paths (the course, its reference package) to cover where this
    view of the file system happens to contain them.
    """
    if not _mount(None, "/", None, MS_REC | MS_PRIVATE):  # never let a mount reach the host's namespace
        return []
    owner = f",uid={uid},gid={uid}" if uid is not None and os.geteuid() == 0 else ""
    options = f"size={max(1, max_disk_mb)}m,nr_inodes={max(16, max_files)},mode=0700{owner}"
    if not _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, options) or not _chdir(str(workdir)):
        return []
    # From here on the folder is reached as the working directory: binding it over /tmp may hide its path.
    tmp = (_plan is None or _plan.private_tmp) and _mount(str(workdir), TMP, None, MS_BIND)
    where = f"{workdir} and /tmp" if tmp else str(workdir)
    done = [f"fresh tmpfs as {where}: at most {max_disk_mb} MB in {max_files} files"]
    # Only PID 1 of its own pid namespace may have a /proc: it then shows that namespace alone.
    if own_pid_namespace and _entered and (
            _mount("proc", PROC, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid,hidepid=2")
            or _mount("proc", PROC, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)):
        done.append("/proc of its own pid namespace only")
    visible = (_plan.readable() if _plan else [])
    for path in hide:
        if any(Path(path) == v or Path(path) in v.parents for v in visible):
            continue  # a folder on the way to the libraries: in this view it holds nothing else
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _empty_folder(Path(path))
        else:
            _bind_read_only(Path("/dev/null"), Path(path), devices=True)
    return done


_plan: RootPlan | None = None


def landlock_readable(rooted: bool, hide: list[str]) -> list[Path]:
    """What Landlock lets a sandboxed child read: the root's binds, or without a root the same
    folders less the course, the grader's own code and anything hidden.

    Landlock cannot deny a subfolder of an allowed folder, so a folder that contains something
    excluded is allowed entry by entry instead.
    """
    plan = _plan or plan_root(Path(__file__).resolve().parents[1])
    readable = plan.readable()
    if rooted:
        return readable
    excluded = [Path(p) for p in hide] + plan.masks + ([plan.package] if plan.package else [])
    out: list[Path] = []
    for path in readable:
        out += _allow_except(path, excluded)
    return out


def _allow_except(path: Path, excluded: list[Path]) -> list[Path]:
    inside = [e for e in excluded if e != path and path in e.parents]
    if path in excluded:
        return []
    if not inside or not path.is_dir() or path.is_symlink():
        return [path]
    out: list[Path] = []
    try:
        entries = sorted(path.iterdir())
    except OSError:
        return []
    for entry in entries:
        out += _allow_except(entry, inside)
    return out
