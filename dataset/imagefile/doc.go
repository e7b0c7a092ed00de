// Package imagefile turns photo files into pixels: it decodes JPEG, PNG,
// GIF and WebP (x/image), resizes to the model's square (Thumbnail) and
// to display copies (DisplayJPEG), and finds a YFCC photo in a folder laid
// out flat or by hash (ImageFolder). YFCC and folder ingests share it, so
// x/image stays out of package dataset.
package imagefile
