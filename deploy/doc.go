// Package deploy holds no code: its test validates the deployment files statically.
package deploy
