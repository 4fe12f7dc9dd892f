/**
 * The one entry the dmvm VM runs (test/vm/devmapper/guest-run.sh): every
 * device-mapper test in one node process, because each node start costs
 * seconds under emulation. Order: driver tests, then the daemon end to end.
 */
import './conformance.vm.js';
import './e2e.vm.js';
