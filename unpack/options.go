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
	// UserNS: running as root of a user namespace. Owners are set, but an
	// id the namespace does not map is skipped and reported (the entry
	// stays the namespace's root's); device nodes and privileged xattrs
	// (trusted.*) are skipped and reported; opaque directories are marked
	// with user.overlay.opaque (overlayfs mounted with userxattr).
	UserNS bool
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
	// Skipped is called for each entry, xattr or owner not applied in
	// rootless mode (or an xattr the filesystem does not support), and in
	// every mode for the overlayfs xattrs (trusted.overlay.*,
	// user.overlay.*) a layer carries. May be nil.
	Skipped func(Skip)
	// Budget, when set, caps the uncompressed bytes ApplyLayer reads
	// (shared with the other layers of the image). May be nil.
	Budget *Budget
}

// Skip is one thing of a layer an unpack could not reproduce.
type Skip struct {
	// Path is the entry's path in the layer, without a leading slash
	// ("dev/null").
	Path string `json:"path"`
	// Kind is SkipDevice, SkipXattr or SkipOwner.
	Kind string `json:"kind"`
	// Detail names what was dropped: "char 1:3", the xattr name, or the
	// layer's "uid:gid".
	Detail string `json:"detail"`
	// Reason says why.
	Reason string `json:"reason"`
}

// Kinds of Skip.
const (
	// SkipDevice: a device node not created (it needs CAP_MKNOD).
	SkipDevice = "device"
	// SkipXattr: an extended attribute dropped (a privileged namespace
	// such as security.capability or trusted.*, or unsupported).
	SkipXattr = "xattr"
	// SkipOwner: the entry is owned by the caller, not the layer's owner.
	SkipOwner = "owner"
)

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
