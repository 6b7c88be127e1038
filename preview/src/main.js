// Synthetic shadow first: it lets the page's SLDS stylesheet reach inside the
// components, as in Lightning Experience (../shared/research/salesforce.md §8).
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import QbSetup from 'c/qbSetup';
import { showToasts } from './toasts';

showToasts(document.querySelector('[data-id="toasts"]'));
const tab = createElement('c-qb-setup', { is: QbSetup });
document.querySelector('[data-id="tab"]').append(tab);
