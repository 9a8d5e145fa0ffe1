package spec

import "errors"

var (
	// ErrNoCommand means neither the image nor the flags name a command.
	ErrNoCommand = errors.New("no command specified")
	// ErrInvalidOption means a flag value could not be parsed.
	ErrInvalidOption = errors.New("invalid option")
	// ErrUnknownCapability means --cap-add/--cap-drop named no capability.
	ErrUnknownCapability = errors.New("unknown capability")
)
