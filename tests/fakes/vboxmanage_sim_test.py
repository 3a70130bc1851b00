#!/usr/bin/env python3
"""Self-test of the VBoxManage simulator (tests/fakes/VBoxManage).

Runs the simulator as a subprocess, as the VirtualBox driver will, and checks its output formats
against the recorded real outputs in tests/fixtures/vboxmanage/, a whole machine lifecycle, its
strictness, failure injection and the call log. Ends with "N passed, M failed" (exit 1 on failure).
Python 3 standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "VBoxManage")
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "vboxmanage"))
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LIST_VMS_LINE = re.compile(r'^"(.+)" \{' + UUID + r'\}$')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def mr_shape(text):
    """showvminfo --machinereadable as [(key, kind)]: values may differ, keys, order and line shapes not."""
    shape = []
    for line in text.rstrip("\n").split("\n"):
        for kind, pattern in (("quoted-key", r'^"((?:[^"\\]|\\.)*)"="(?:[^"\\]|\\.)*"$'),
                              ("string", r'^([^="]+)="(?:[^"\\]|\\.)*"$'),
                              ("number", r'^([^="]+)=-?\d+$'),
                              ("videomode", r'^(VideoMode)="\d+,\d+,\d+"@-?\d+,-?\d+ \d+$'),
                              ("double-equals", r'^([^=]+)==\d+$')):
            m = re.match(pattern, line)
            if m:
                shape.append((m.group(1), kind))
                break
        else:
            shape.append((line, "raw"))
    return shape


def colon_shape(text):
    """"Label:   value" listings as [(label, value column or None when the value is empty)]."""
    shape = []
    for line in text.split("\n"):
        line = line.rstrip()
        m = re.match(r"^(\s*[^:]+:)(\s*)(.*)$", line)
        if not m:
            shape.append((line, None))
        else:
            shape.append((m.group(1), len(m.group(1)) + len(m.group(2)) if m.group(3) else None))
    return shape


class SimTest(unittest.TestCase):
    calls = 0

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vboxmanage-sim-test.")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VBOXMANAGE_SIM_")}
        self.env.update({
            "HOME": self.tmp,
            "VBOXMANAGE_SIM_STATE": os.path.join(self.tmp, "state.json"),
            "VBOXMANAGE_SIM_LOG": os.path.join(self.tmp, "calls.log"),
            "VBOXMANAGE_SIM_NETWORKS_CONF": os.path.join(self.tmp, "no-networks.conf"),
        })
        self.vms = os.path.join(self.tmp, "machines")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def vbm(self, *args, env=None, stdin=None):
        full_env = dict(self.env)
        full_env.update(env or {})
        SimTest.calls += 1
        return subprocess.run([sys.executable, "-S", SIM] + list(args), env=full_env, input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30)

    def ok(self, *args, **kw):
        r = self.vbm(*args, **kw)
        self.assertEqual(r.returncode, 0, "VBoxManage %s failed:\n%s" % (" ".join(args), r.stderr))
        self.assertNotIn("error:", r.stderr)
        return r

    def fails(self, code, *args, **kw):
        r = self.vbm(*args, **kw)
        self.assertEqual(r.returncode, code, "VBoxManage %s: want exit %d\n%s%s" % (" ".join(args), code,
                                                                                   r.stdout, r.stderr))
        return r

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def raw_disk(self, name="raw.img", mib=1):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(b"\0" * (mib << 20))
        return p

    def info(self, vm, **kw):
        return dict(re.findall(r'^"?([^"=\n]+)"?="?([^"\n]*)"?$', self.ok("showvminfo", vm, "--machinereadable",
                                                                          **kw).stdout, re.M))

    def create(self, name, ostype="Linux_64"):
        self.ok("createvm", "--name", name, "--ostype", ostype, "--basefolder", self.vms, "--register")
        return os.path.join(self.vms, name)

    # ---- formats against the recorded fixtures ---------------------------------------------------

    def test_version(self):
        fixed = fixture("version.txt")
        self.assertRegex(fixed, r"^\d+\.\d+\.\d+r\d+\n$")
        self.assertEqual(self.ok("--version").stdout, fixed)
        self.assertEqual(self.ok("--version", env={"VBOXMANAGE_SIM_VERSION": "6.0.24r139119"}).stdout,
                         "6.0.24r139119\n")

    def test_list_vms_and_runningvms_shape(self):
        for name in ("list-vms.txt", "list-runningvms.txt"):
            lines = fixture(name).rstrip("\n").split("\n")
            self.assertTrue(all(LIST_VMS_LINE.match(line) for line in lines), name)
        self.assertEqual(self.ok("list", "vms").stdout, "")
        self.create("debian-11")
        self.create("Rickdiculously Easy")
        out = self.ok("list", "vms").stdout
        self.assertTrue(out.endswith("\n"))
        names = [LIST_VMS_LINE.match(line).group(1) for line in out.rstrip("\n").split("\n")]
        self.assertEqual(names, ["debian-11", "Rickdiculously Easy"])
        self.ok("startvm", "Rickdiculously Easy", "--type", "headless")
        running = self.ok("list", "runningvms").stdout.rstrip("\n").split("\n")
        self.assertEqual(len(running), 1)
        self.assertEqual(LIST_VMS_LINE.match(running[0]).group(1), "Rickdiculously Easy")

    def test_list_hostonlyifs_shape(self):
        self.assertEqual(self.ok("list", "hostonlyifs").stdout, "")
        created = self.ok("hostonlyif", "create")
        self.assertEqual(created.stdout, "Interface 'vboxnet0' was successfully created\n")
        self.assertIn("100%", created.stderr)
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1", "--netmask", "255.255.255.0")
        out = self.ok("list", "hostonlyifs").stdout
        self.assertEqual(colon_shape(out), colon_shape(fixture("list-hostonlyifs.txt")))
        self.assertIn("IPAddress:       192.168.56.1\n", out)
        old = self.ok("list", "hostonlyifs", env={"VBOXMANAGE_SIM_VERSION": "5.0.20r106931"}).stdout
        self.assertEqual(colon_shape(old), colon_shape(fixture("list-hostonlyifs-5.0-docker-machine.txt")))

    def test_list_dhcpservers_shape(self):
        self.ok("hostonlyif", "create")
        self.ok("dhcpserver", "add", "--ifname", "vboxnet0", "--ip", "192.168.56.100", "--netmask", "255.255.255.0",
                "--lowerip", "192.168.56.101", "--upperip", "192.168.56.254", "--enable")
        out = self.ok("list", "dhcpservers").stdout
        self.assertEqual(colon_shape(out), colon_shape(fixture("list-dhcpservers.txt")))
        self.assertEqual(out, fixture("list-dhcpservers.txt"))  # same values as the recording, too

    def xtec_like_vm(self):
        """A machine configured like the one in showvminfo-machinereadable-*.txt."""
        self.create("xtec-1", "Ubuntu_64")
        self.ok("storagectl", "xtec-1", "--name", "IDE Controller", "--add", "ide")
        disk = os.path.join(self.vms, "xtec-1", "xtec-disk001.vdi")
        self.ok("convertfromraw", self.raw_disk(), disk)
        self.ok("storageattach", "xtec-1", "--storagectl", "IDE Controller", "--port", "0", "--device", "0",
                "--type", "hdd", "--medium", disk)
        self.ok("hostonlyif", "create")
        self.ok("modifyvm", "xtec-1", "--memory", "6144", "--cpus", "4", "--vram", "4", "--ioapic", "on",
                "--rtcuseutc", "on", "--boot1", "disk", "--boot2", "dvd", "--boot3", "none", "--natpf1",
                "ssh,tcp,127.0.0.1,2201,,22", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0", "--vrde", "on",
                "--vrdeport", "5983", "--vrdeaddress", "0.0.0.0", "--audio-driver", "none")

    def test_showvminfo_matches_recorded_poweroff_and_running(self):
        self.xtec_like_vm()
        off = self.ok("showvminfo", "xtec-1", "--machinereadable").stdout
        self.assertEqual(mr_shape(off), mr_shape(fixture("showvminfo-machinereadable-poweroff.txt")))
        self.assertIn('VMState="poweroff"\n', off)
        self.assertRegex(off, r'\nVMStateChangeTime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}"\n')
        self.ok("startvm", "xtec-1", "--type", "headless")
        on = self.ok("showvminfo", "xtec-1", "--machinereadable").stdout
        self.assertEqual(mr_shape(on), mr_shape(fixture("showvminfo-machinereadable-running.txt")))
        self.assertIn('VMState="running"\n', on)

    def test_errors_match_recorded_texts(self):
        r = self.fails(1, "showvminfo", "xtec-4", "--machinereadable")
        self.assertEqual((r.stdout, r.stderr), ("", fixture("error-not-found.txt")))
        self.ok("hostonlyif", "create")
        r = self.fails(1, "hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1", "--netmask", "255.255.255.0")
        self.assertEqual(r.stderr, fixture("error-hostonly-range.txt"))
        self.create("m")
        self.ok("modifyvm", "m", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22")
        r = self.fails(1, "modifyvm", "m", "--natpf1", "ssh,tcp,127.0.0.1,2200,,22")
        number = re.compile(r"at line \d+ of")
        self.assertEqual(number.sub("at line N of", r.stderr), number.sub("at line N of", fixture("error-natpf-name-exists.txt")))
        r = self.fails(2, "startvm", "m", "--delete", env={"VBOXMANAGE_SIM_VERSION": "7.0.14r161095"})
        want = fixture("error-unknown-option-startvm.txt").split("\n")
        got = r.stderr.split("\n")
        self.assertEqual(got[:7], want[:7])
        self.assertTrue(got[7].startswith("  VBoxManage startvm "))

    # ---- a whole lifecycle, as the driver will drive it -------------------------------------------

    def test_lifecycle(self):
        vmdir = self.create("berth-1")
        self.ok("storagectl", "berth-1", "--name", "SATA", "--add", "sata", "--hostiocache", "on", "--portcount", "3")
        disk = os.path.join(vmdir, "disk.vdi")
        conv = self.ok("convertfromraw", self.raw_disk(mib=2), disk, "--format", "VDI")
        self.assertIn("Creating dynamic image with size 2097152 bytes (2MB)...", conv.stderr)
        self.assertTrue(os.path.isfile(disk))
        iso = self.path("boot.iso")
        with open(iso, "w") as f:
            f.write("iso")
        self.ok("storageattach", "berth-1", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type",
                "dvddrive", "--medium", iso)
        self.ok("storageattach", "berth-1", "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "hdd",
                "--medium", disk)
        self.ok("hostonlyif", "create")
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1", "--netmask", "255.255.255.0")
        self.ok("dhcpserver", "add", "--interface=vboxnet0", "--server-ip=192.168.56.100", "--netmask=255.255.255.0",
                "--lower-ip=192.168.56.101", "--upper-ip=192.168.56.254", "--enable")
        serial = os.path.join(vmdir, "serial.log")
        self.ok("modifyvm", "berth-1", "--memory", "2048", "--cpus", "2", "--ioapic", "on", "--rtcuseutc", "on",
                "--boot1", "disk", "--boot2", "none", "--nic1", "nat", "--nictype1", "virtio",
                "--natpf1", "ssh,tcp,127.0.0.1,40022,,22", "--natpf1", "docker,tcp,127.0.0.1,42376,,2376",
                "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0", "--nictype2", "virtio",
                "--cableconnected1", "on", "--uart1", "0x3F8", "4", "--uartmode1", "file", serial,
                "--graphicscontroller", "vmsvga", "--vram", "16", "--audio-driver", "none", "--usb", "off")
        old_audio = self.ok("modifyvm", "berth-1", "--audio", "none")  # 7.0 still takes --audio, with a warning
        self.assertIn("--audio is deprecated", old_audio.stderr)
        self.ok("sharedfolder", "add", "berth-1", "--name", "hosthome", "--hostpath", self.tmp, "--automount")
        self.ok("setextradata", "berth-1", "VBoxInternal/CPUM/SSE4.1", "1")
        info = self.info("berth-1")
        self.assertEqual((info["VMState"], info["memory"], info["cpus"], info["nic2"]), ("poweroff", "2048", "2", "hostonly"))
        started = self.ok("startvm", "berth-1", "--type", "headless")
        self.assertEqual(started.stdout, 'Waiting for VM "berth-1" to power on...\n'
                                         'VM "berth-1" has been successfully started.\n')
        self.assertTrue(os.path.exists(serial))
        out = self.ok("showvminfo", "berth-1", "--machinereadable").stdout
        for line in ('VMState="running"', 'Forwarding(0)="docker,tcp,127.0.0.1,42376,,2376"',
                     'Forwarding(1)="ssh,tcp,127.0.0.1,40022,,22"', '"SATA-1-0"="%s"' % disk, '"SATA-2-0"="none"',
                     'hostonlyadapter2="vboxnet0"', 'uart1="0x03f8,4"', 'uartmode1="file,%s"' % serial,
                     'graphicscontroller="vmsvga"', 'SessionName="headless"', 'audio="none"',
                     'SharedFolderNameMachineMapping1="hosthome"'):
            self.assertIn("\n" + line + "\n", out)
        ip = "/VirtualBox/GuestInfo/Net/1/V4/IP"
        self.assertEqual(self.ok("guestproperty", "get", "berth-1", ip).stdout, "Value: 192.168.56.101\n")
        self.ok("controlvm", "berth-1", "acpipowerbutton")
        polls = [self.info("berth-1", env={"VBOXMANAGE_SIM_ACPI_POLLS": "2"})["VMState"] for _ in range(3)]
        self.assertEqual(polls, ["running", "running", "poweroff"])
        self.assertEqual(self.ok("guestproperty", "get", "berth-1", ip).stdout, "No value set!\n")
        self.assertEqual(self.ok("list", "runningvms").stdout, "")
        deleted = self.ok("unregistervm", "berth-1", "--delete")
        self.assertIn("100%", deleted.stderr)
        self.assertEqual(self.ok("list", "vms").stdout, "")
        self.assertEqual(self.ok("list", "hdds").stdout, "")
        self.assertEqual(self.ok("list", "dvds").stdout, "")
        self.assertFalse(os.path.exists(disk))
        self.assertEqual(os.listdir(vmdir), ["serial.log"])  # VirtualBox deletes only the files it made
        self.assertTrue(os.path.exists(iso))  # --delete keeps removable media files

    def test_state_machine(self):
        self.create("s")
        r = self.fails(1, "controlvm", "s", "poweroff")
        self.assertEqual(r.stderr, "VBoxManage: error: Machine 's' is not currently running.\n")
        self.ok("startvm", "s", "--type", "headless")
        r = self.fails(1, "startvm", "s", "--type", "headless")
        self.assertIn("VBoxManage: error: The machine 's' is already locked by a session (or being locked or unlocked)",
                      r.stderr)
        r = self.fails(1, "modifyvm", "s", "--memory", "256")
        self.assertIn("is already locked for a session (or being unlocked)", r.stderr)
        r = self.fails(1, "unregistervm", "s", "--delete")
        self.assertIn("Cannot unregister the machine 's' while it is locked", r.stderr)
        self.ok("controlvm", "s", "pause")
        self.assertEqual(self.info("s")["VMState"], "paused")
        self.assertIn('"s" {', self.ok("list", "runningvms").stdout)  # paused machines are listed as running
        self.fails(1, "controlvm", "s", "acpipowerbutton")
        self.ok("controlvm", "s", "resume")
        self.ok("controlvm", "s", "savestate")
        info = self.info("s")
        self.assertEqual(info["VMState"], "saved")
        self.assertTrue(info["VMStateFile"].endswith(".sav"))
        self.ok("startvm", "s")
        self.ok("controlvm", "s", "acpipowerbutton", env={"VBOXMANAGE_SIM_ACPI_POLLS": "never"})
        self.assertEqual(self.info("s")["VMState"], "running")
        self.ok("controlvm", "s", "poweroff")
        self.assertEqual(self.info("s")["VMState"], "poweroff")
        self.ok("sim-set", "s", "state", "aborted")
        self.assertEqual(self.info("s")["VMState"], "aborted")
        self.ok("startvm", "s", "--type", "headless")

    def test_media_registry(self):
        self.create("m")
        self.ok("storagectl", "m", "--name", "SATA", "--add", "sata", "--portcount", "2")
        missing = self.path("nope.vdi")
        r = self.fails(1, "storageattach", "m", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd",
                       "--medium", missing)
        self.assertIn("VBoxManage: error: Could not find file for the medium '%s' (VERR_FILE_NOT_FOUND)" % missing,
                      r.stderr)
        self.assertIn("component MediumWrap, interface IMedium", r.stderr)
        self.assertTrue(r.stderr.endswith('VBoxManage: error: Invalid UUID or filename "%s"\n' % missing))
        base = self.path("base.vdi")
        self.ok("convertfromraw", self.raw_disk(), base)
        clone = self.path("clone.vdi")
        cloned = self.ok("clonemedium", "disk", base, clone, "--format", "VDI")
        self.assertRegex(cloned.stdout, r"^Clone medium created in format 'VDI'\. UUID: " + UUID + r"\n$")
        self.ok("clonehd", clone, self.path("old-style.vdi"))  # the pre-5.0 name still works
        self.ok("closemedium", "disk", self.path("old-style.vdi"), "--delete")
        self.ok("modifymedium", "disk", clone, "--resize", "20000")
        self.ok("storageattach", "m", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd",
                "--medium", clone)
        hdds = self.ok("list", "hdds").stdout
        self.assertEqual(len(re.findall(r"^UUID:", hdds, re.M)), 2)
        self.assertIn("Capacity:       20000 MBytes\n", hdds)
        r = self.fails(1, "closemedium", "disk", clone, "--delete")
        self.assertIn("Cannot delete storage: medium '%s' is still attached" % clone, r.stderr)
        self.assertIn("VBoxManage: error: Medium '%s' cannot be closed because it is still attached to 1 virtual machines"
                      % clone, r.stderr)
        self.assertTrue(os.path.exists(clone))
        self.ok("storageattach", "m", "--storagectl", "SATA", "--port", "0", "--device", "0", "--medium", "none")
        # A disk deleted behind VirtualBox's back and made again cannot be attached: it must be closed first.
        os.remove(clone)
        self.ok("convertfromraw", self.raw_disk(), clone)
        r = self.fails(1, "storageattach", "m", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd",
                       "--medium", clone)
        self.assertIn("Cannot register the hard disk '%s'" % clone, r.stderr)
        self.fails(1, "closemedium", "disk", clone)  # by path: the same conflict
        stale = re.search(r"^UUID:\s+(\S+)\nParent UUID:.*\n.*\n.*\nLocation:\s+%s$" % re.escape(clone),
                          self.ok("list", "hdds").stdout, re.M).group(1)
        self.ok("closemedium", "disk", stale)  # by UUID the stale registration goes; the file stays
        self.assertTrue(os.path.exists(clone))
        self.ok("closemedium", "disk", base)
        self.ok("closemedium", "disk", clone, "--delete")
        self.assertEqual(self.ok("list", "hdds").stdout, "")
        self.assertFalse(os.path.exists(clone))

    # ---- strictness --------------------------------------------------------------------------------

    def test_unknown_option(self):
        self.create("u")
        r = self.fails(1, "modifyvm", "u", "--memory", "512", "--bogus", "1")  # modifyvm: RTEXITCODE_FAILURE
        lines = r.stderr.split("\n")
        self.assertTrue(lines[0].startswith("Oracle VM VirtualBox Command Line Management Interface Version 7.0.20"))
        self.assertEqual(lines[3], "VBoxManage: error: Unknown option: --bogus")
        self.assertEqual(lines[4], "Usage - Change settings for a virtual machine:")
        self.assertEqual(lines[-2], "VBoxManage: error: Unknown option: --bogus")  # repeated after a long usage
        self.assertEqual(self.info("u")["memory"], "128")  # nothing of a failed modifyvm is kept
        r = self.fails(2, "createvm", "--name", "x", "--bogus")
        self.assertIn("\nVBoxManage: error: Unknown option: --bogus\nUsage - Create a new virtual machine:\n", r.stderr)
        r = self.fails(2, "list", "bogus")
        self.assertIn('VBoxManage: error: Unknown subcommand "bogus".', r.stderr)
        r = self.fails(2, "frobnicate")
        self.assertIn("VBoxManage: error: Invalid command 'frobnicate'", r.stderr)
        r = self.fails(2, "modifyvm", "u", "--natpf1", "delete")
        self.assertIn("VBoxManage: error: Not enough parameters", r.stderr)
        r = self.fails(1, "modifyvm", "u", "--memory", "lots")
        self.assertIn("VBoxManage: error: Invalid argument format: lots", r.stderr)
        r = self.fails(1, "modifyvm", "u", "--audio-driver", "none", env={"VBOXMANAGE_SIM_VERSION": "6.1.50r161033"})
        self.assertIn("VBoxManage: error: Unknown option: --audio-driver", r.stderr)

    def test_unknown_vm(self):
        for args, ctx in ((("modifyvm", "ghost", "--memory", "512"), "VBoxManageModifyVM.cpp"),
                          (("startvm", "ghost"), "VBoxManageMisc.cpp"),
                          (("controlvm", "ghost", "poweroff"), "VBoxManageControlVM.cpp"),
                          (("unregistervm", "ghost", "--delete"), "VBoxManageMisc.cpp")):
            r = self.fails(1, *args)
            self.assertTrue(r.stderr.startswith("VBoxManage: error: Could not find a registered machine named 'ghost'\n"
                                                "VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), "
                                                "component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\n"
                                                "VBoxManage: error: Context: \"FindMachine("), r.stderr)
            self.assertIn("of file %s\n" % ctx, r.stderr)
        r = self.fails(1, "showvminfo", "01234567-89ab-cdef-0123-456789abcdef")
        self.assertIn("Could not find a registered machine with UUID {01234567-89ab-cdef-0123-456789abcdef}", r.stderr)

    def test_port_forward_rules(self):
        self.create("p")
        self.ok("modifyvm", "p", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22")
        r = self.fails(1, "modifyvm", "p", "--natpf1", "web,tcp,127.0.0.1,2222,,80")
        self.assertIn("VBoxManage: error: A NAT rule for this host port and this host IP already exists", r.stderr)
        self.ok("modifyvm", "p", "--natpf1", "web,tcp,,2222,,80")  # another host IP: allowed, as in VirtualBox
        self.ok("modifyvm", "p", "--natpf1", "delete", "ssh")
        r = self.fails(1, "modifyvm", "p", "--natpf1", "delete", "ssh")
        self.assertIn("VBoxManage: error: Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value "
                      "(extended info not available)", r.stderr)
        r = self.fails(1, "modifyvm", "p", "--natpf1", "x,icmp,,1,,1")
        self.assertIn("VBoxManage: error: Invalid proto 'x,icmp,,1,,1' specfied for NIC 1", r.stderr)
        forwards = [line for line in self.ok("showvminfo", "p", "--machinereadable").stdout.split("\n")
                    if line.startswith("Forwarding(")]
        self.assertEqual(forwards, ['Forwarding(0)="web,tcp,,2222,,80"'])

    def test_hostonly_range_and_dhcp(self):
        self.ok("hostonlyif", "create")
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.63.1")  # inside 192.168.56.0/21
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1",
                env={"VBOXMANAGE_SIM_VERSION": "6.1.26r145957"})  # before the restriction
        r = self.fails(1, "hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1",
                       env={"VBOXMANAGE_SIM_VERSION": "6.1.50r161033"})
        self.assertIn("at line 242 of file VBoxManageHostonly.cpp", r.stderr)
        conf = self.path("networks.conf")
        with open(conf, "w") as f:
            f.write("* 192.168.99.0/24 10.0.0.0/8\n* 2001::/64\n")
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1", env={"VBOXMANAGE_SIM_NETWORKS_CONF": conf})
        r = self.fails(1, "hostonlyif", "ipconfig", "vboxnet5", "--ip", "192.168.56.1")
        self.assertIn("The host network interface named 'vboxnet5' could not be found", r.stderr)
        add = ("dhcpserver", "add", "--ifname", "vboxnet0", "--ip", "192.168.56.100", "--netmask", "255.255.255.0",
               "--lowerip", "192.168.56.101", "--upperip", "192.168.56.254", "--enable")
        self.ok(*add)
        self.assertEqual(self.fails(2, *add).stderr, "VBoxManage: error: DHCP server already exists\n")
        self.ok("dhcpserver", "remove", "--ifname", "vboxnet0")
        self.assertEqual(self.fails(2, "dhcpserver", "remove", "--interface", "vboxnet0").stderr,
                         "VBoxManage: error: DHCP server does not exist\n")
        self.ok("hostonlyif", "remove", "vboxnet0")
        self.assertEqual(self.ok("list", "hostonlyifs").stdout, "")

    def test_guest_ip(self):
        self.create("g")
        self.ok("hostonlyif", "create")
        self.ok("modifyvm", "g", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0")
        ip = "/VirtualBox/GuestInfo/Net/1/V4/IP"
        self.assertEqual(self.ok("guestproperty", "get", "g", ip).stdout, "No value set!\n")
        self.ok("startvm", "g", "--type", "headless")
        self.assertEqual(self.ok("guestproperty", "get", "g", ip).stdout, "No value set!\n")  # no DHCP server
        self.ok("sim-set", "g", "guest-ip", "192.168.56.120")
        env = {"VBOXMANAGE_SIM_IP_POLLS": "1"}
        self.ok("controlvm", "g", "poweroff")
        self.ok("startvm", "g", "--type", "headless")
        got = [self.ok("guestproperty", "get", "g", ip, env=env).stdout for _ in range(2)]
        self.assertEqual(got, ["No value set!\n", "Value: 192.168.56.120\n"])
        self.assertEqual(self.ok("guestproperty", "get", "g", "/VirtualBox/GuestInfo/Net/0/V4/IP").stdout,
                         "Value: 10.0.2.15\n")

    # ---- failure injection -------------------------------------------------------------------------

    def test_failure_injection(self):
        self.create("f")
        env = {"VBOXMANAGE_SIM_FAIL": "startvm:1", "VBOXMANAGE_SIM_FAIL_TEXT": "not-ready"}
        r = self.fails(1, "startvm", "f", "--type", "headless", env=env)
        self.assertEqual(r.stderr.split("\n")[:2], [
            "VBoxManage: error: The object is not ready",
            "VBoxManage: error: Details: code E_ACCESSDENIED (0x80070005), component SessionMachine, interface IMachine, "
            "callee nsISupports"])
        self.assertEqual(self.info("f")["VMState"], "poweroff")  # a failed call changes nothing
        self.ok("startvm", "f", "--type", "headless", env=env)  # only the 1st startvm fails: a retry succeeds
        env = {"VBOXMANAGE_SIM_FAIL": "controlvm.acpipowerbutton:1=error-exit0"}
        r = self.vbm("controlvm", "f", "acpipowerbutton", env=env)
        self.assertEqual(r.returncode, 0)  # exit 0, yet an error on stderr: the driver must see the failure
        self.assertIn("VBoxManage: error: ", r.stderr)
        self.assertEqual(self.info("f", env={"VBOXMANAGE_SIM_ACPI_POLLS": "0"})["VMState"], "running")
        self.ok("controlvm", "f", "poweroff")
        env = {"VBOXMANAGE_SIM_FAIL": "modifyvm:*"}
        for _ in range(2):
            self.fails(1, "modifyvm", "f", "--memory", "512", env=env)
        self.assertEqual(self.info("f")["memory"], "128")
        env = {"VBOXMANAGE_SIM_FAIL": "showvminfo:2-3=not-ready-exit0"}
        results = [self.vbm("showvminfo", "f", "--machinereadable", env=env) for _ in range(4)]
        self.assertEqual([r.returncode for r in results], [0, 0, 0, 0])
        self.assertEqual(["error:" in r.stderr for r in results], [False, True, True, False])
        self.assertTrue(results[1].stdout.endswith('cpuexecutioncap=100\n'))  # cut short, as the real one is
        env = {"VBOXMANAGE_SIM_FAIL": "startvm:1+", "VBOXMANAGE_SIM_FAIL_TEXT": "error-exit0"}
        r = self.vbm("startvm", "f", "--type", "headless", env=env)
        self.assertEqual((r.returncode, r.stdout), (0, 'Waiting for VM "f" to power on...\n'))
        self.assertIn("VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)", r.stderr)
        env = {"VBOXMANAGE_SIM_FAIL": "list", "VBOXMANAGE_SIM_FAIL_TEXT": "Failed to create the VirtualBox object!"}
        r = self.fails(1, "list", "vms", env=env)
        self.assertEqual(r.stderr, "VBoxManage: error: Failed to create the VirtualBox object!\n")

    # ---- the call log and concurrency --------------------------------------------------------------

    def test_call_log(self):
        self.create("l")
        self.ok("list", "vms")
        self.ok("sim-set", "l", "guest-ip", "192.168.56.2")  # simulator-only: not logged
        self.fails(1, "showvminfo", "l", "--machinereadable", env={"VBOXMANAGE_SIM_FAIL": "showvminfo:1"})
        self.ok("modifyvm", "l", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22")
        with open(self.env["VBOXMANAGE_SIM_LOG"]) as f:
            calls = [json.loads(line) for line in f]
        self.assertEqual(calls, [
            ["createvm", "--name", "l", "--ostype", "Linux_64", "--basefolder", self.vms, "--register"],
            ["list", "vms"],
            ["showvminfo", "l", "--machinereadable"],
            ["modifyvm", "l", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22"],
        ])

    def test_concurrent_calls(self):
        full_env = dict(self.env)
        procs = [subprocess.Popen([sys.executable, "-S", SIM, "createvm", "--name", "c%d" % i, "--basefolder", self.vms,
                                   "--register"], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for i in range(6)]
        for p in procs:
            p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0)
        names = sorted(LIST_VMS_LINE.match(line).group(1)
                       for line in self.ok("list", "vms").stdout.rstrip("\n").split("\n"))
        self.assertEqual(names, ["c%d" % i for i in range(6)])
        with open(self.env["VBOXMANAGE_SIM_STATE"]) as f:
            self.assertEqual(len(json.load(f)["vms"]), 6)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(SimTest)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    sys.stderr.write("(%d simulator runs)\n" % SimTest.calls)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
