// Package fashionmnist reads Fashion-MNIST from the Debian package
// dataset-fashion-mnist: real images with labels, for NMI and linear
// probes against a known truth.
package fashionmnist
