package unpack

// Mode selects how whiteouts are applied.
type Mode int

const (
	// Flat applies layers on top of each other in one directory: a whiteout
	// deletes, an opaque marker empties what lower layers put there.
	Flat Mode = iota
	// Overlay applies each layer into its own directory: whiteouts become
	// character devices 0:0 and opaque markers the overlay opaque xattr.
	Overlay
)

// Options control Apply.
type Options struct {
	Mode Mode
	// Rootless: no device nodes (skipped and reported), no chown (files are
	// owned by the caller), setuid/setgid kept only when the kernel allows,
	// opaque directories marked with user.overlay.opaque.
	Rootless bool
	// Lowers (Overlay mode): the lower layers' directories, top-most first,
	// used to copy up hardlink targets and the metadata of parents this
	// layer does not list.
	Lowers []string
	// WaitLowers, when set, is called once before the first look into
	// Lowers and must return when they are complete (or fail). It lets
	// layers be applied in parallel: most never look at their lowers, and
	// the few that do (a hardlink to a lower file, a parent this layer does
	// not list) wait only then.
	WaitLowers func() error
	// Skipped is called for entries or attributes not applied in rootless
	// mode (device nodes, privileged xattrs), and in every mode for the
	// overlayfs xattrs (trusted.overlay.*, user.overlay.*) a layer carries.
	// May be nil.
	Skipped func(name, reason string)
	// Budget, when set, caps the uncompressed bytes ApplyLayer reads
	// (shared with the other layers of the image). May be nil.
	Budget *Budget
}

// Stats counts what Apply did.
type Stats struct {
	Entries, Files, Dirs, Symlinks, Hardlinks, Whiteouts int
	Bytes                                                int64
}

// Limits on what one header may carry.
const (
	maxNameLen     = 4096
	maxPAXRecords  = 1024
	maxXattrs      = 128
	maxXattrValue  = 64 << 10
	maxXattrTotal  = 1 << 20
	maxSymlinkHops = 40
	maxCachedDirs  = 256
)
