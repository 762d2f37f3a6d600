"""3D detection: rotated-box geometry (`boxes`), the KITTI AP evaluation (`kitti_eval`),
synthetic KITTI scenes (`synth`) and bird's-eye-view pictures (`axon.viz.detect`)."""
