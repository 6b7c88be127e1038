/**
 * `lightning/navigation` for the preview: there is no Lightning Experience
 * around the page to navigate in, so `NavigationMixin.Navigate` records the
 * page reference (`navigations`, also `window.__previewNavigations` for the
 * browser tests) and announces it with a `preview:navigate` window event.
 */
const NAVIGATE = Symbol('Navigate');
const GENERATE_URL = Symbol('GenerateUrl');

export const navigations = [];

function record(pageReference, replace) {
    const entry = { pageReference, replace: Boolean(replace) };
    navigations.push(entry);
    if (typeof window !== 'undefined') {
        window.__previewNavigations = navigations;
        window.dispatchEvent(
            new CustomEvent('preview:navigate', { detail: entry })
        );
    }
}

/** Describes a page reference as a URL-ish string (only for display). */
export function urlOf(pageReference) {
    const { type, attributes = {} } = pageReference || {};
    const parts = [type, attributes.objectApiName, attributes.actionName]
        .filter(Boolean)
        .join('/');
    return `#${parts}`;
}

export function NavigationMixin(Base) {
    return class extends Base {
        [NAVIGATE](pageReference, replace) {
            record(pageReference, replace);
        }

        [GENERATE_URL](pageReference) {
            return Promise.resolve(urlOf(pageReference));
        }
    };
}
NavigationMixin.Navigate = NAVIGATE;
NavigationMixin.GenerateUrl = GENERATE_URL;

/** Wire adapter: the preview is always the QB Setup tab. */
export class CurrentPageReference {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
    }

    connect() {
        this.dataCallback({
            type: 'standard__navItemPage',
            attributes: { apiName: 'QB_Setup' },
            state: {}
        });
    }

    disconnect() {}

    update() {}
}
