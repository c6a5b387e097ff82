package postgres

import (
	"testing"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/storagetest"
)

func TestStore_LinkStoreConformance(t *testing.T) {
	storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore { return openFresh(t) })
}

func TestStore_KeyStoreConformance(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return openFresh(t) })
}

// The same suites through a separate read pool (standing in for a replica).
func TestStore_ReadURLConformance(t *testing.T) {
	storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore {
		url := server(t).NewDatabase(t)
		return openURL(t, withReadURL(config(url), url))
	})
}
