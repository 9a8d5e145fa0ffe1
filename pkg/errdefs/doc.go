// Package errdefs owns the error kinds that cross package boundaries: a
// thing not found, a blob that does not match its digest or size, a layer
// that does not match its diff_id, a thing that already exists, an input
// over a limit. Packages wrap these sentinels with their own context,
//
//	fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
//
// so one errors.Is(err, errdefs.ErrDigestMismatch) answers "did some bytes
// not match their digest", whichever layer (registry client, content store,
// unpacker, archive import) found it. Errors that are one package's own
// concept (image.ErrNotStored, container.ErrNameInUse, ...) stay in that
// package.
//
// ExitError carries an exit status from whichever layer decides it (the
// runner, a command) to the one place the CLI turns it into the process's
// exit code.
package errdefs
