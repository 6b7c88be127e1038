/**
 * A feature gate that is off. lightning-base-components ships its gates open
 * (external/gateStub.js); the preview closes the ones that cannot work under
 * synthetic shadow (see salesforceModules.mjs).
 */
export default { isOpen: () => false };
