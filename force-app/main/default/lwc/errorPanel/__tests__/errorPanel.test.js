import { createElement } from 'lwc';
import ErrorPanel from 'c/errorPanel';

function render(props) {
    const element = createElement('c-error-panel', { is: ErrorPanel });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

const lines = (element) =>
    Array.from(element.shadowRoot.querySelectorAll('li')).map(
        (li) => li.textContent
    );

describe('c-error-panel', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
    });

    it('lists the reduced errors under the title', () => {
        const element = render({
            title: 'Could not load mappings',
            errors: { body: { message: 'Insufficient access' } }
        });

        expect(element.shadowRoot.querySelector('h2').textContent).toBe(
            'Could not load mappings'
        );
        expect(lines(element)).toEqual(['Insufficient access']);
    });

    it('lists ready-made messages before errors', () => {
        const element = render({
            messages: ['Customer: failed'],
            errors: new Error('boom')
        });

        expect(lines(element)).toEqual(['Customer: failed', 'boom']);
    });

    it('renders nothing without errors', () => {
        const element = render({});

        expect(element.shadowRoot.querySelector('[role="alert"]')).toBeNull();
    });

    it('is accessible', async () => {
        const element = render({ errors: 'Something failed' });

        await expect(element).toBeAccessible();
    });
});
