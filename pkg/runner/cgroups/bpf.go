package cgroups

import (
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// insn is one eBPF instruction (struct bpf_insn).
type insn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

// The eBPF opcodes the device filter uses.
const (
	opLdxW   = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W   // dst = *(u32 *)(src + off)
	opAndK   = unix.BPF_ALU64 | unix.BPF_AND | unix.BPF_K // dst &= imm
	opRshK   = unix.BPF_ALU64 | unix.BPF_RSH | unix.BPF_K // dst >>= imm
	opMovK   = unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K // dst = imm
	opMovX   = unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_X // dst = src
	opJneK   = unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K   // if dst != imm: pc += off
	opJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K   // if dst == imm: pc += off
	opExit   = unix.BPF_JMP | unix.BPF_EXIT               // return r0
	regCtx   = 1                                          // r1: struct bpf_cgroup_dev_ctx *
	regType  = 2                                          // r2: device type (1 block, 2 char)
	regAcc   = 3                                          // r3: requested access bits
	regMajor = 4                                          // r4
	regMinor = 5                                          // r5
	regTmp   = 6                                          // r6
	regRet   = 0                                          // r0
	devBlock = 1                                          // BPF_DEVCG_DEV_BLOCK
	devChar  = 2                                          // BPF_DEVCG_DEV_CHAR
)

func ins(code uint8, dst, src uint8, off int16, imm int32) insn {
	return insn{code: code, regs: dst | src<<4, off: off, imm: imm}
}

// deviceProgram compiles the rules into a cgroup device program with v1's
// meaning: the last rule that matches a request decides; a request no rule
// matches is denied. An allow rule matches when it grants every requested
// access bit, a deny rule when it names any of them.
func deviceProgram(devs []specs.LinuxDeviceCgroup) ([]insn, error) {
	// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
	// with access_type = access << 16 | type.
	prog := []insn{
		ins(opLdxW, regType, regCtx, 0, 0),
		ins(opAndK, regType, 0, 0, 0xffff),
		ins(opLdxW, regAcc, regCtx, 0, 0),
		ins(opRshK, regAcc, 0, 0, 16),
		ins(opLdxW, regMajor, regCtx, 4, 0),
		ins(opLdxW, regMinor, regCtx, 8, 0),
	}
	for i := len(devs) - 1; i >= 0; i-- {
		r, err := parseRule(devs[i])
		if err != nil {
			return nil, err
		}
		b := ruleBlock(r)
		prog = append(prog, b...)
		if len(b) == 2 {
			return prog, nil // matches every request: the rest is unreachable
		}
	}
	return append(prog, ins(opMovK, regRet, 0, 0, 0), ins(opExit, 0, 0, 0, 0)), nil
}

// ruleBlock returns "if the request matches r, return r.allow"; every
// failed test jumps past the block's end.
func ruleBlock(r rule) []insn {
	var b []insn
	switch r.typ {
	case 'b':
		b = append(b, ins(opJneK, regType, 0, 0, devBlock))
	case 'c':
		b = append(b, ins(opJneK, regType, 0, 0, devChar))
	}
	if r.major >= 0 {
		b = append(b, ins(opJneK, regMajor, 0, 0, int32(uint32(r.major))))
	}
	if r.minor >= 0 {
		b = append(b, ins(opJneK, regMinor, 0, 0, int32(uint32(r.minor))))
	}
	if r.access != accRead|accWrite|accMknod {
		b = append(b, ins(opMovX, regTmp, regAcc, 0, 0))
		if r.allow {
			b = append(b, ins(opAndK, regTmp, 0, 0, int32(^r.access&0xffff)), ins(opJneK, regTmp, 0, 0, 0))
		} else {
			b = append(b, ins(opAndK, regTmp, 0, 0, int32(r.access)), ins(opJeqK, regTmp, 0, 0, 0))
		}
	}
	ret := int32(0)
	if r.allow {
		ret = 1
	}
	b = append(b, ins(opMovK, regRet, 0, 0, ret), ins(opExit, 0, 0, 0, 0))
	for i := range b {
		if b[i].code == opJneK || b[i].code == opJeqK {
			b[i].off = int16(len(b) - i - 1)
		}
	}
	return b
}

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
	progName    [16]byte
	ifindex     uint32
	attachType  uint32
}

// progAttachAttr is the BPF_PROG_ATTACH part of union bpf_attr.
type progAttachAttr struct {
	targetFd   uint32
	progFd     uint32
	attachType uint32
	flags      uint32
}

// attachDeviceFilter loads the rules as a BPF_PROG_TYPE_CGROUP_DEVICE
// program and attaches it to the v2 cgroup dir (BPF_F_ALLOW_MULTI, so the
// parents' programs still apply). The cgroup keeps the program until it is
// removed. When the kernel refuses eBPF and the rules only allow, there is
// nothing to enforce and the error is ignored, as runc and containerd do.
func attachDeviceFilter(dir string, devs []specs.LinuxDeviceCgroup) error {
	prog, err := deviceProgram(devs)
	if err != nil {
		return err
	}
	if err := loadAttach(dir, prog); err != nil {
		for _, d := range devs {
			if !d.Allow {
				return fmt.Errorf("device filter for %s: %w", dir, err)
			}
		}
	}
	return nil
}

func loadAttach(dir string, prog []insn) error {
	fd, err := loadProgram(prog, nil)
	if err != nil {
		// Load again with the verifier's log, to say why.
		log := make([]byte, 64<<10)
		lfd, lerr := loadProgram(prog, log)
		if lerr != nil {
			return fmt.Errorf("load program: %w: %s", err, cString(log))
		}
		unix.Close(lfd)
		return fmt.Errorf("load program: %w", err)
	}
	defer unix.Close(fd)
	dfd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	aa := progAttachAttr{targetFd: uint32(dfd), progFd: uint32(fd), attachType: unix.BPF_CGROUP_DEVICE, flags: unix.BPF_F_ALLOW_MULTI}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&aa)), unsafe.Sizeof(aa)); errno != 0 {
		return fmt.Errorf("attach program: %w", errno)
	}
	return nil
}

// loadProgram loads prog as a cgroup device program; with log, the
// verifier writes its log there.
func loadProgram(prog []insn, log []byte) (int, error) {
	license := []byte("Apache\x00")
	la := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	copy(la.progName[:], "ctrlite_devices")
	if len(log) > 0 {
		la.logLevel, la.logSize, la.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&la)), unsafe.Sizeof(la))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
