// Records the last page reference passed to NavigationMixin.Navigate so tests can
// assert where a component sends the user (the stub in sfdx-lwc-jest discards it).
import { createTestWireAdapter } from '@salesforce/wire-service-jest-util';

export const CurrentPageReference = createTestWireAdapter(jest.fn());

let lastPageReference;

const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

export const NavigationMixin = (Base) =>
    class extends Base {
        [Navigate](pageReference, replace) {
            lastPageReference = { pageReference, replace };
        }
        [GenerateUrl](pageReference) {
            lastPageReference = { pageReference };
            return Promise.resolve('https://example.com/generated');
        }
    };
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

/** The page reference of the last navigation, or undefined. */
export const getNavigateCalledWith = () => lastPageReference?.pageReference;

/** Forgets the last navigation; call from afterEach. */
export const resetNavigation = () => {
    lastPageReference = undefined;
};
