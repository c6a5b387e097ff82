package webui

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Assets is the built UI: index.html at its root, hashed files under
// assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is embedded above: cannot happen
	}
	return sub
}
