/**
 * Shows `lightning__showtoast` events (ShowToastEvent) as SLDS toasts at the
 * top of the page, as Lightning Experience does. Each shown toast is also
 * kept in `window.__previewToasts` for the browser tests.
 */
const ICONS = {
    success: 'success',
    error: 'error',
    warning: 'warning',
    info: 'info'
};
// Lightning Experience hides a dismissible toast after a few seconds.
const VISIBLE_MS = 8000;

function toastElement({ title, message, variant }) {
    const kind = ICONS[variant] ? variant : 'info';
    const toast = document.createElement('div');
    toast.className = `slds-notify slds-notify_toast slds-theme_${kind}`;
    toast.setAttribute('role', 'status');
    toast.dataset.variant = kind;

    const assistive = document.createElement('span');
    assistive.className = 'slds-assistive-text';
    assistive.textContent = kind;

    const icon = document.createElement('span');
    icon.className = `slds-icon_container slds-icon-utility-${ICONS[kind]} slds-m-right_small slds-no-flex slds-align-top`;
    icon.innerHTML = `<svg class="slds-icon slds-icon_small" aria-hidden="true"><use href="/assets/icons/utility-sprite/svg/symbols.svg#${ICONS[kind]}"></use></svg>`;

    const content = document.createElement('div');
    content.className = 'slds-notify__content';
    const heading = document.createElement('h2');
    heading.className = 'slds-text-heading_small';
    heading.textContent = title;
    content.append(heading);
    if (message) {
        const text = document.createElement('p');
        text.textContent = message;
        content.append(text);
    }

    const close = document.createElement('button');
    close.className =
        'slds-button slds-button_icon slds-button_icon-inverse slds-notify__close';
    close.title = 'Close';
    close.innerHTML =
        '<svg class="slds-button__icon slds-button__icon_large" aria-hidden="true"><use href="/assets/icons/utility-sprite/svg/symbols.svg#close"></use></svg><span class="slds-assistive-text">Close</span>';
    close.addEventListener('click', () => toast.remove());

    toast.append(assistive, icon, content, close);
    return toast;
}

export function showToasts(container) {
    window.__previewToasts = [];
    document.addEventListener('lightning__showtoast', (event) => {
        const detail = event.detail || {};
        window.__previewToasts.push(detail);
        const toast = toastElement(detail);
        container.append(toast);
        setTimeout(() => toast.remove(), VISIBLE_MS);
    });
}
