// Command tlogcheck checks voucher-ledger's transparency log with Go's own
// packages, golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog
// (the checksum database's), so that our formats are proven against an
// implementation we did not write (docs/transparency.md).
//
// Usage: tlogcheck DIR, where DIR holds what the log served:
//
//	vkey              the text of /log/vkey
//	checkpoint        the text of /log/checkpoint
//	tiles/<L>/<N>...  every hash tile of that checkpoint's tree (C2SP paths)
//	inclusion.json    [{leaf_index, tree_size, leaf, root, proof}] from /api/v1/log/inclusion
//	consistency.json  [{from, to, from_root, to_root, proof}] from /api/v1/log/consistency
//
// It exits 0 and prints "ok …" when every check passes, 1 otherwise.
// Build in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	Leaf      string   `json:"leaf"`
	Root      string   `json:"root"`
	Proof     []string `json:"proof"`
}

type consistency struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Proof    []string `json:"proof"`
}

// tileDir serves tiles from disk under their C2SP tlog-tiles paths (Go's
// paths carry the height: tile/8/L/N; C2SP's do not: L/N).
type tileDir string

func (d tileDir) Height() int { return 8 }

func (d tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		path := strings.TrimPrefix(tile.Path(), "tile/8/")
		data, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(path)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (d tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func hash(text string) tlog.Hash {
	bytes, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(bytes) != tlog.HashSize {
		fail("%q is not a base64 hash", text)
	}
	var h tlog.Hash
	copy(h[:], bytes)
	return h
}

func hashes(texts []string) []tlog.Hash {
	out := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		out[i] = hash(text)
	}
	return out
}

func read(dir, name string) []byte {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	return data
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: tlogcheck DIR")
	}
	dir := os.Args[1]

	// The checkpoint: a signed note under the log's key.
	verifier, err := note.NewVerifier(strings.TrimSpace(string(read(dir, "vkey"))))
	if err != nil {
		fail("vkey: %v", err)
	}
	signed, err := note.Open(read(dir, "checkpoint"), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(signed.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint: the origin is not the key's name: %q", signed.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint: size %q", lines[1])
	}
	root := hash(lines[2])
	tree := tlog.Tree{N: size, Hash: root}

	// The tiles: Go reads those the tree needs, checks them against the
	// signed root as it goes, and recomputes the root from them.
	reader := tlog.TileHashReader(tree, tileDir(filepath.Join(dir, "tiles")))
	fromTiles, err := tlog.TreeHash(size, reader)
	if err != nil || fromTiles != root {
		fail("tiles: root %v, err %v; the checkpoint says %v", fromTiles, err, root)
	}

	// Inclusion proofs, as served and as Go builds them from the tiles.
	var proofs []inclusion
	if err := json.Unmarshal(read(dir, "inclusion.json"), &proofs); err != nil {
		fail("inclusion.json: %v", err)
	}
	for _, p := range proofs {
		leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
		if err != nil {
			fail("leaf %d: %v", p.LeafIndex, err)
		}
		record := tlog.RecordHash(leaf)
		if err := tlog.CheckRecord(hashes(p.Proof), p.TreeSize, hash(p.Root), p.LeafIndex, record); err != nil {
			fail("inclusion of leaf %d in %d: %v", p.LeafIndex, p.TreeSize, err)
		}
		if p.TreeSize == size {
			built, err := tlog.ProveRecord(size, p.LeafIndex, reader)
			if err != nil {
				fail("proving leaf %d from tiles: %v", p.LeafIndex, err)
			}
			if err := tlog.CheckRecord(built, size, root, p.LeafIndex, record); err != nil {
				fail("leaf %d from tiles: %v", p.LeafIndex, err)
			}
		}
		// One bit of the leaf changed: refused.
		leaf[len(leaf)-1] ^= 1
		if tlog.CheckRecord(hashes(p.Proof), p.TreeSize, hash(p.Root), p.LeafIndex, tlog.RecordHash(leaf)) == nil {
			fail("a changed leaf %d still verifies", p.LeafIndex)
		}
	}

	// Consistency proofs.
	var trees []consistency
	if err := json.Unmarshal(read(dir, "consistency.json"), &trees); err != nil {
		fail("consistency.json: %v", err)
	}
	for _, c := range trees {
		if err := tlog.CheckTree(hashes(c.Proof), c.To, hash(c.ToRoot), c.From, hash(c.FromRoot)); err != nil {
			fail("consistency %d -> %d: %v", c.From, c.To, err)
		}
		other := hash(c.FromRoot)
		other[0] ^= 1
		if c.From < c.To && tlog.CheckTree(hashes(c.Proof), c.To, hash(c.ToRoot), c.From, other) == nil {
			fail("consistency %d -> %d holds for another old root", c.From, c.To)
		}
	}
	fmt.Printf("ok: checkpoint of %d entries, tiles, %d inclusion and %d consistency proofs\n",
		size, len(proofs), len(trees))
}
