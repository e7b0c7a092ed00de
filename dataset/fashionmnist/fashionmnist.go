package fashionmnist

import (
	"github.com/deepercluster/deepercluster/dataset/idx"
)

// DefaultDir is where the Debian package dataset-fashion-mnist
// installs the gzipped IDX files; the CLI flag defaults to it.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// debianPackage is named in errors so a user knows what to install.
const debianPackage = "dataset-fashion-mnist"

// Split picks the train or the test split; it is the shared IDX reader's,
// so one flag value opens the same split of MNIST and Fashion-MNIST.
type Split = idx.Split

// The two Fashion-MNIST splits: 60,000 training and 10,000 test images.
const (
	Train = idx.Train
	Test  = idx.Test
)

// ParseSplit reads a split name as given on the command line.
func ParseSplit(s string) (Split, error) { return idx.ParseSplit(s) }

// Dataset is one split of Fashion-MNIST held in memory, read by the shared
// IDX reader (dataset/idx).
type Dataset = idx.Dataset

// classes are the upstream class names, in label order.
var classes = [...]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// Open reads a split from dir (DefaultDir when the package is installed)
// with the shared IDX reader, which checks magic numbers, shapes, counts,
// labels and file lengths.
func Open(dir string, split Split) (*Dataset, error) {
	return idx.Open(idx.Spec{
		Name:    "fashion-mnist",
		Classes: classes[:],
		Install: "install the Debian package " + debianPackage + " (apt-get install " + debianPackage + ") or pass the directory that holds the IDX files",
	}, dir, split)
}
